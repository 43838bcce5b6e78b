"""The `sensesearch` command line: the typer app, output and error handling (shared options: cli_options.py).

Commands live in cli_*.py modules and use only the public API (`sensesearch` exports, records,
errors). Every heavy import (torch, transformers, FAISS, SQLAlchemy, scikit-learn) happens inside a
command body, so `sensesearch --help` and `sensesearch info` start fast.
"""

from __future__ import annotations

import functools
import io
import inspect
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from typer.models import ArgumentInfo, ParameterInfo

import sensesearch
from sensesearch import IndexLockedError, InputError, SenseSearchError, UsageError

from .cli_options import TerminalLogHandler, log_level, utf8_problem
from .cli_streams import CheckedOutput, ClosedOutput, reader_gone
from .cli_usage import OneLineUsageGroup, help_hint

app = typer.Typer(
    help="Find usages of a word like this one: contextual word vectors over a whole corpus.\n\n"
         "\b\nExample: sensesearch index corpora/demo --index indexes/demo && "
         "sensesearch query 'money in the [[bank]]' --index indexes/demo", cls=OneLineUsageGroup,
    # Plain click help (rich_markup_mode=None): rich markup would eat "[[bank]]" in examples, flags show "<bool>".
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


class TerminalConsole(Console):
    """A rich Console that draws the control characters of the plain strings it prints (sensesearch.terminal_text):
    a file name, metadata or a typed line holding an ESC sequence would otherwise steer the terminal. Tables:
    TerminalTable.

    Text is word-wrapped at the terminal's width only on a terminal: written to a file or a pipe, rich would wrap it
    at 80 columns, breaking paths and messages in two for grep and scripts (a verify problem line split "cut short
    after" when the index path was long). Asked of the file itself, not of rich's is_terminal, which FORCE_COLOR
    (set by many CI systems) makes true for a pipe. Calls that lay out their own lines (KWIC) say soft_wrap
    themselves; elsewhere this replaces the console's own soft_wrap setting.
    """

    def print(self, *objects: Any, **options: Any) -> None:
        drawn = [sensesearch.terminal_text(o) if isinstance(o, str) else o for o in objects]
        if _is_a_terminal(self.file):
            super().print(*drawn, **options)
            return
        if options.get("soft_wrap") is None:
            options["soft_wrap"] = True
        tables = [o for o in objects if isinstance(o, Table)]
        if not tables:
            super().print(*drawn, **options)
            return
        # A table row stays one line, as wide as it needs whatever COLUMNS says; rich caps a print's width at the
        # console's, so the console is widened for this print.
        unbounded = self.options.update_width(_UNBOUNDED)
        kept = self._width
        self.width = max(Measurement.get(self, unbounded, table).maximum for table in tables)
        try:
            super().print(*drawn, **options)
        finally:
            self._width = kept

    def on_broken_pipe(self) -> None:
        """A reader that stops early (`| head`) is no failure: BrokenPipeError goes on to the command, as a plain
        write's does, and `guarded` exits 0 unless the command had already failed (rich would exit 1 here).

        Standard output goes to the null device first, so that the interpreter's last flush finds no pipe to break.
        """
        self.quiet = True
        reader_gone()
        raise BrokenPipeError


_UNBOUNDED = 1_000_000
"""Columns a table may take when it is written to a file or a pipe: more than any row needs."""


def _is_a_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


out = TerminalConsole(soft_wrap=False, highlight=False, markup=False)
err = TerminalConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)
F = TypeVar("F", bound=Callable[..., Any])
TRACEBACK_ENV = "SENSESEARCH_TRACEBACK"
NAMES_A_FILE = frozenset({"model", "db", "file", "paths", "document"})
"""Text parameters that may name a file (a model folder, a database URL, input files, a document by its path): a
file name may hold any bytes, so these are not held to UTF-8."""


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 document', '2 documents', '1,234 usages', '2 queries' (with many="queries")."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {many or noun + 's'}"


def listed_apart(documents: list[tuple[str, str]], shown: int | None = None) -> str:
    """The documents (label, path) named apart from each other (names_apart: records "r1" of two JSON Lines files had
    been listed "r1, r1"), quoted and joined (quoted_names: a name holding ", " read as two, and one holding a line
    break broke the line), the first `shown` of them."""
    named = sensesearch.names_apart(documents)
    return sensesearch.quoted_names([named[doc] for doc in documents], shown)


def guarded(command: F) -> F:
    """Turn every error into one line on stderr and a non-zero exit, never a traceback.

    Domain errors exit 1 (2 for a UsageError). An unexpected error (a bug, or a FAISS/torch failure) also gets one line;
    SENSESEARCH_TRACEBACK=1 shows the traceback instead. Before the command runs: text that is not UTF-8, and --json
    with --csv, are usage errors, and a wrong whole-number setting in the environment (sensesearch.check_environment)
    fails with one line (exit 1).
    """
    labels = _parameter_labels(command)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_text(kwargs, labels)
        if kwargs.get("json_") and kwargs.get("csv_"):
            fail("choose one of --json and --csv", 2)
        try:
            sensesearch.check_environment()
            return command(*args, **kwargs)
        except SenseSearchError as exc:
            fail(str(exc) + _lock_hint(exc, kwargs.get("wait"), labels), 2 if isinstance(exc, UsageError) else 1)
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            reader_gone()
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            if os.environ.get(TRACEBACK_ENV) == "1":
                raise
            fail(f"unexpected {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''} "
                 f"(set {TRACEBACK_ENV}=1 to see where)")
    return wrapper  # type: ignore[return-value]


def _lock_hint(exc: SenseSearchError, wait: object, labels: dict[str, str]) -> str:
    """For a write lock another run holds, what a command with --wait can do about it (the library's message cannot
    name the option, and a command without one must not), or how long it waited."""
    if not isinstance(exc, IndexLockedError) or "wait" not in labels or not isinstance(wait, (int, float)):
        return ""
    return f" (waited {wait:g} s)" if wait else f", or wait for it with {labels['wait']} SECONDS"


def _parameter_labels(command: Callable[..., Any]) -> dict[str, str]:
    """How the command line names each parameter of `command`: its first option flag, or its argument's metavar."""
    labels = {}
    for name, parameter in inspect.signature(command, eval_str=True).parameters.items():
        infos = [m for m in getattr(parameter.annotation, "__metadata__", ()) if isinstance(m, ParameterInfo)]
        if infos and isinstance(infos[0], ArgumentInfo):
            labels[name] = infos[0].metavar or name.upper()
        else:
            flags = [d for d in (infos[0].param_decls or ()) if d.startswith("--")] if infos else []
            labels[name] = flags[0] if flags else "--" + name.replace("_", "-")
    return labels


def _check_text(given: dict[str, Any], labels: dict[str, str]) -> None:
    """Exit 2 when a text parameter holds bytes that are not UTF-8, before the command starts.

    Python hands such command-line bytes over as lone surrogates ("\\udcff" for 0xff, PEP 383), which
    the tokenizer, SQLite and the terminal all refuse in their own ways; one check here names the
    parameter instead. Path parameters (and NAMES_A_FILE) are left alone: a file name may hold any bytes.
    """
    for name, values in given.items():
        if name in NAMES_A_FILE:
            continue
        for text in values if isinstance(values, (list, tuple)) else (values,):
            problem = utf8_problem(text) if isinstance(text, str) else None
            if problem:
                fail(f"{labels.get(name, name)} {problem}", 2)


def input_name(name: str | Path) -> str:
    """How messages name a text input: "standard input" for "-" (a bare "-" read as a typo)."""
    return "standard input" if str(name) == "-" else str(name)


def read_text_input(name: str | Path) -> str:
    """A text file's content, or standard input's for "-", decoded as `index` decodes a corpus (sensesearch.decode_text).

    InputError naming the file when it cannot be read or is not text.
    """
    try:
        data = sys.stdin.buffer.read() if str(name) == "-" else Path(name).read_bytes()
        return sensesearch.decode_text(data)[0]
    except OSError as exc:
        raise InputError(f"cannot read {input_name(name)}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"cannot read {input_name(name)}: {exc}") from None


def fail(message: str, code: int = 1) -> None:
    """Print `Error: message` on stderr (control characters drawn, see TerminalConsole), naming the command's --help
    for a usage error (2) as click's own do (cli_usage), and exit with `code`."""
    hint = help_hint() if code == 2 else ""
    err.print(Text.assemble(("Error: ", "bold red"), sensesearch.terminal_text(message + hint)))
    if getattr(sys.stdout, "failed", False):
        reader_gone()  # see CheckedOutput
    raise typer.Exit(code)


CELL_WIDTH = 100
"""Terminal cells a table's text cell shows at most (then "…"), unless its column is `whole`: a 5,000-character
metadata value made every row of `documents` 5,000 columns wide in a pipe (and folded into dozens of lines on a
terminal). --json and --csv carry every value whole."""


class TerminalTable(Table):
    """A rich Table whose text cells are drawn as KWIC lines are (sensesearch.terminal_cell): a control character
    from a file name, metadata or a sentence (a terminal obeys ESC sequences) shows as its control picture, one
    cell wide. Cells are cut at CELL_WIDTH but in columns added `whole` (names a user greps for or passes on: a
    document's label and path). A cell's runs of white space are one space, but in columns added `spelled`, whose
    text is to be typed back (metadata as a condition reads it, conditions.value_as_written): there every space
    stays and a line break or a tab is drawn (sensesearch.terminal_name), as "a  b" had been shown as "a b"."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._whole: set[int] = set()
        self._spelled: set[int] = set()

    def add_column(self, *args: Any, whole: bool = False, spelled: bool = False, **options: Any) -> None:
        if whole:
            self._whole.add(len(self.columns))
        if spelled:
            self._spelled.add(len(self.columns))
        super().add_column(*args, **options)

    def add_row(self, *renderables: Any, **options: Any) -> None:
        drawn = [sensesearch.terminal_name if i in self._spelled else sensesearch.terminal_cell
                 for i in range(len(renderables))]
        cells = [Text(draw(cell)) if isinstance(cell, str) else Text(draw(cell.plain), style=cell.style)
                 if isinstance(cell, Text) else cell for draw, cell in zip(drawn, renderables)]
        for i, cell in enumerate(cells):
            if isinstance(cell, Text) and i not in self._whole:
                cell.truncate(CELL_WIDTH, overflow="ellipsis")
        super().add_row(*cells, **options)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        # Each line without the padding of its last cells: in a pipe every row had ended in spaces up to the table's
        # width (a cut 100-column cell made that some 130 columns of them).
        from rich.segment import Segment

        for line in Segment.split_lines(super().__rich_console__(console, options)):
            while line and not line[-1].control and not line[-1].text.strip(" "):
                line.pop()
            if line:
                last = line[-1]
                line[-1] = Segment(last.text.rstrip(" "), last.style, last.control)
            yield from line
            yield Segment.line()


def emit_json(data: Any) -> None:
    sys.stdout.write(sensesearch.json_dumps(data, indent=2) + "\n")


def _version(given: bool) -> None:
    if given:
        out.print(f"sensesearch {sensesearch.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass


def main() -> None:
    """Console-script entry point."""
    # Offline unless the user opted in: an unknown model id fails at once instead of retrying the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if sys.stdout is None:
        sys.stdout = ClosedOutput()
    for stream in (sys.stdout, sys.stderr):
        # A file name may hold bytes that are not UTF-8 (lone surrogates in Python, PEP 383): printed as escapes
        # (valid JSON too), where a strict UTF-8 terminal would end the command with UnicodeEncodeError.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout = CheckedOutput(sys.stdout)  # type: ignore[assignment]
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Typed lines (`shell`) reach the command with such bytes as lone surrogates, which it reports (utf8_problem).
        sys.stdin.reconfigure(errors="surrogateescape")
    try:
        logging.basicConfig(level=log_level(), format="%(levelname)s %(name)s: %(message)s",
                            handlers=[TerminalLogHandler()])
        app()
    except SenseSearchError as exc:  # outside any command: a wrong SENSESEARCH_LOG, or --help or --version written to
        # a closed or full stdout
        try:
            fail(str(exc))
        except typer.Exit as done:
            sys.exit(done.exit_code)


from . import cli_index, cli_search, cli_shell, cli_docs, cli_serve, cli_robust, cli_eval, cli_sense  # noqa: E402,F401,I001
