from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from ecodata.cli import cli


def test_bad_faults_give_one_line_and_exit_code_2() -> None:
    result = CliRunner().invoke(cli, ["simulate", "--faults", "bogus=1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "ecodata: error: bad fault 'bogus=1': use kind=rate with kind one of http429, http500, http502, http503, "
        "drop, truncate, ocpi3000, slow, unknown_fields, mutate"]


def test_busy_port_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["simulate", "--port", str(port)])
    assert result.exit_code == 2
    assert f"ecodata: error: cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_simulate_serves_until_ctrl_c_and_exits_cleanly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "cli-secret-token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecodata.cli", "simulate", "--port", str(port), "--token", token, "--seed", "3",
         "--faults", "http429=0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/prices/connector_prices?limit=3",
                              headers={"Authorization": f"Token {token}"}, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.status_code == 200
        assert r.headers["x-total-count"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert token not in out + err
    assert out.startswith(f"simulated Eco-Movement API: scale demo, seed 3, day 0, faults http429=0.01:1; "
                          f"http://127.0.0.1:{port} (Ctrl-C to stop)")
