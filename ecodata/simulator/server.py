"""Run the simulator as a real HTTP server: in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn

from ecodata.errors import ConfigError
from ecodata.simulator.app import ConnectionDropped, SimulatorApp, create_app
from ecodata.simulator.config import SimulatorConfig
from ecodata.simulator.data import SimulatedData


class _HideDrops(logging.Filter):
    """The ``drop`` fault raises on purpose; keep it out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def _install_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDrops) for f in logger.filters):
        logger.addFilter(_HideDrops())


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is TCP; with proto 0
    # Nagle's algorithm and delayed ACKs stall every keep-alive response by ~40 ms.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _base_url(host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}"


def _server(app: SimulatorApp, log_level: str) -> uvicorn.Server:
    _install_filter()
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                            timeout_keep_alive=30)
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0,
                    dataset: SimulatedData | None = None) -> Iterator[str]:
    """Serve the simulator on a loopback port in a background thread; yield its base URL.

    Example::

        with serve_in_thread(SimulatorConfig(scale="demo")) as base_url:
            httpx.get(base_url + "/prices", headers={"Authorization": "Token sim-token"})
    """
    app = create_app(config, dataset)
    sock = _bind(host, port)
    server = _server(app, "warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ecodata-simulator", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise ConfigError("the simulator server failed to start")
            thread.join(0.01)
        yield _base_url(host, sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.close()


def run_server(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8765, log_level: str = "warning",
               ready: Callable[[str], None] | None = None) -> None:
    """Serve in the foreground until interrupted (Ctrl-C stops it cleanly).

    ``ready`` is called with the base URL once the port is bound (with the real port when ``port`` is 0).
    """
    app = create_app(config)
    sock = _bind(host, port)
    server = _server(app, log_level)
    if ready is not None:
        ready(_base_url(host, sock))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the captured SIGINT after its graceful shutdown
    finally:
        sock.close()
        app.close()
