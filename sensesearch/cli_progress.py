"""Progress of long commands: phases, and a bar with totals and ETA on a terminal, log lines otherwise.

On a terminal (rich): a spinner with the phase name and, when the amount of work is known, a bar,
the done/total amount, the elapsed time and the time remaining. When stderr is not a terminal (CI,
`demo.sh > log`), one line per phase change and, while a phase runs, a line at an update (a chunk written, when
encoding) at most every LOG_EVERY seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn,
                           TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn)

import sensesearch

LOG_EVERY = 10.0
"""Seconds between progress lines when the output is not a terminal."""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _amount(n: float, unit: str) -> str:
    if unit == "bytes":
        for scale, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if n >= scale:
                return f"{n / scale:.1f} {name}"
        return f"{int(n)} bytes"
    return f"{int(n):,}"


class CommandProgress:
    """Phases of one command, shown on `console` (stderr), silent when `quiet`.

    `phase(name, total, unit)` starts a phase (a total of None: no bar); `update(done, detail)` moves
    it; `started` is the command's start, so a summary can give the whole command's time. With
    `log_lines` False nothing is printed unless the console is a terminal.
    """

    def __init__(self, console: Console, quiet: bool = False, started: float | None = None,
                 log_lines: bool = True) -> None:
        self.console = console
        # A short command (a query) shows its phases on a terminal only: log lines would be noise.
        self.quiet = quiet or (not log_lines and not console.is_terminal)
        self.started = started if started is not None else time.perf_counter()
        self.live = console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._name = ""
        self._total: float | None = None
        self._unit = ""
        self._phase_started = self.started
        self._last_log = 0.0

    def __enter__(self) -> CommandProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop()

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.perf_counter() - self.started

    def phase(self, name: str, total: float | None = None, unit: str = "") -> None:
        """Start a phase; `total` (in `unit`: "bytes", or a plural noun) gives a bar and an ETA."""
        if self.quiet or name == self._name:
            return
        self._name, self._total, self._unit = name, total, unit
        self._phase_started = time.perf_counter()
        if not self.live:
            size = f" ({_amount(total, unit)}{'' if unit == 'bytes' else ' ' + unit})" if total else ""
            self.console.print(f"[{_duration(self.elapsed())}] {name}{size}", markup=False, highlight=False)
            self._last_log = time.perf_counter()
            return
        self._stop()
        # Not rich markup: a phase may name a folder or a command line ("x[/]" had raised MarkupError).
        columns: list[ProgressColumn | str] = [SpinnerColumn(), TextColumn("{task.description}", markup=False)]
        if total:
            # The ETA is worked out here from the phase's average rate: updates may come minutes apart,
            # too rarely for rich's own estimate, which looks at the last 30 s only.
            columns += [BarColumn(bar_width=20), TaskProgressColumn(),
                        DownloadColumn() if unit == "bytes" else MofNCompleteColumn(), TimeElapsedColumn()]
        else:
            columns += [TimeElapsedColumn()]
        columns.append(TextColumn("{task.fields[detail]}", style="dim", markup=False))
        self._progress = Progress(*columns, console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(name, total=total, detail="")

    def lock_wait(self, folder: Path, then: str | None = None) -> Callable[[str | None], None]:
        """What SenseIndex's `lock_wait` calls: a phase that says who holds the write lock of `folder` while this
        waits for it, then the phase `then` once the lock is this run's (None: the wait's phase just ends)."""
        def told(holder: str | None) -> None:
            if holder is None and then is not None:
                self.phase(then)
            elif holder is None:
                self._stop()
                self._name = ""
            else:
                self.phase(f"waiting for the write lock of {sensesearch.terminal_name(str(folder))}, held by "
                           + (sensesearch.terminal_name(holder) if holder else "another process"))
        return told

    def update(self, done: float | None = None, detail: str = "") -> None:
        """Move the current phase to `done` (in its unit) and show `detail` (e.g. a rate)."""
        if self.quiet:
            return
        if self._progress is not None and self._task is not None:
            eta = self._eta(done)
            self._progress.update(self._task, completed=done if done is not None else None,
                                  detail=", ".join(part for part in (eta, detail) if part))
            return
        now = time.perf_counter()
        if self.live or now - self._last_log < LOG_EVERY:
            return
        self._last_log = now
        parts = [self._name]
        if done is not None and self._total:
            share = min(done / self._total, 1.0)
            parts.append(f"{_amount(done, self._unit)} of {_amount(self._total, self._unit)} ({100 * share:.0f}%)")
            parts.append(self._eta(done))
        if detail:
            parts.append(detail)
        self.console.print(f"[{_duration(self.elapsed())}] " + ", ".join(p for p in parts if p), markup=False,
                           highlight=False)

    def _eta(self, done: float | None) -> str:
        """'ETA 2 min 10 s' from the share done so far and the time the phase has taken ('' if unknown)."""
        if done is None or not self._total:
            return ""
        share = min(done / self._total, 1.0)
        if not 0 < share < 1:
            return ""
        return f"ETA {_duration((time.perf_counter() - self._phase_started) * (1 - share) / share)}"

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
