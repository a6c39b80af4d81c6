"""Progress bars per endpoint on a terminal (records, pages/s, ETA); silence everywhere else."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console


class ProgressSink(Protocol):
    """What the crawl reports to: an endpoint starts, learns its total, stores pages, ends."""

    def start(self, endpoint: str, total: int | None, records: int, pages: int) -> None: ...
    def set_total(self, endpoint: str, total: int) -> None: ...
    def page(self, endpoint: str, records: int) -> None: ...
    def close(self) -> None: ...


class QuietProgress:
    """The progress sink for logs and CI: does nothing."""

    def start(self, endpoint: str, total: int | None, records: int, pages: int) -> None:
        pass

    def set_total(self, endpoint: str, total: int) -> None:
        pass

    def page(self, endpoint: str, records: int) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """One rich progress bar per endpoint, on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.completed:>10,.0f} records"),
            TextColumn("{task.fields[pages]:>6} pages {task.fields[rate]:>6.1f} pages/s"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self._tasks: dict[str, TaskID] = {}
        self._pages: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._progress.start()

    def start(self, endpoint: str, total: int | None, records: int, pages: int) -> None:
        self._tasks[endpoint] = self._progress.add_task(endpoint, total=total, completed=records,
                                                        pages=pages, rate=0.0)
        self._pages[endpoint] = 0
        self._started[endpoint] = time.monotonic()

    def set_total(self, endpoint: str, total: int) -> None:
        self._progress.update(self._tasks[endpoint], total=total)

    def page(self, endpoint: str, records: int) -> None:
        self._pages[endpoint] += 1
        elapsed = max(time.monotonic() - self._started[endpoint], 1e-6)
        task = self._tasks[endpoint]
        fields: dict[str, Any] = {"rate": self._pages[endpoint] / elapsed}
        current = self._progress.tasks[[t.id for t in self._progress.tasks].index(task)]
        fields["pages"] = int(current.fields.get("pages", 0)) + 1
        self._progress.update(task, advance=records, **fields)

    def close(self) -> None:
        self._progress.stop()


def make_progress(enabled: bool | None) -> ProgressSink:
    """Rich bars when ``enabled`` is true, or when None and stderr is an interactive terminal."""
    if enabled is None:
        if not sys.stderr.isatty() and not os.environ.get("FORCE_TERMINAL") and not os.environ.get("TTY_INTERACTIVE"):
            return QuietProgress()  # decided without importing rich (a cron job's or CI's usual case)
        from rich.console import Console

        console = Console(stderr=True)
        enabled = console.is_terminal and not console.is_dumb_terminal
        return RichProgress(console) if enabled else QuietProgress()
    return RichProgress() if enabled else QuietProgress()
