"""Standard output that fails loudly: closed (`>&-`), full (`> /dev/full`) or its reader gone (`| head`).

A command's answer that cannot be written is a SetupError (one line, exit 1) or, for a reader gone, silence,
as Python's guidance on SIGPIPE has it; never an exit 0 with the answer lost, nor a traceback.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from typing import Any

from sensesearch import SetupError


def reader_gone() -> None:
    """Standard output's reader stopped reading (`| head`): what is still written, the interpreter's last flush
    included, goes to the null device instead of failing again (Python's guidance on SIGPIPE)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class ClosedOutput(io.TextIOBase):
    """Standard output of a command started without one (`>&-`), where Python leaves sys.stdout None: rich then
    printed nothing and the command exited 0 with its answer lost, and a plain write failed as an AttributeError.
    Writing here is one error line and exit 1; a command that prints nothing on stdout (`index`) is not hindered."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise SetupError("standard output is closed, so the answer cannot be printed (send it to /dev/null "
                         "to discard it)")


class CheckedOutput:
    """Standard output whose failures to write, other than a reader gone (BrokenPipeError, see reader_gone), are a
    SetupError: a full disk or `> /dev/full` had been "unexpected OSError" for a command and a traceback for
    --help or --version. Every write fails while the output does (click's probe of the stream swallows the first
    failure); once `fail` has said so, what is still buffered goes to the null device (`failed`), so the
    interpreter's last flush does not fail again."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.failed = False

    def write(self, text: str) -> int:
        return self._checked(self._stream.write, text)

    def flush(self) -> None:
        self._checked(self._stream.flush)

    def _checked(self, act: Callable[..., Any], *args: Any) -> Any:
        try:
            return act(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.failed = True
            raise SetupError(f"cannot write the output: {exc.strerror or exc}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
