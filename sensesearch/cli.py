"""The `sensesearch` command line: the typer app, shared options and error handling.

Commands live in cli_*.py modules and use only the public API (`sensesearch` exports, records,
errors). Every heavy import (torch, transformers, FAISS, SQLAlchemy, scikit-learn) happens inside a
command body, so `sensesearch --help` and `sensesearch info` start fast. Option values are typed or
checked by parameter callbacks, so a bad value fails (exit 2) before a model or an index is opened.
"""

from __future__ import annotations

import functools
import io
import inspect
import logging
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.models import ArgumentInfo, ParameterInfo

import sensesearch
from sensesearch import (COMBINE_CHOICES, COMPRESSION_CHOICES, DEFAULT_MODEL, POOLING_CHOICES, PRECISION_CHOICES,
                         EncoderSettings, InputError, SenseSearchError, UsageError, parse_layers)

app = typer.Typer(
    help="Find usages of a word like this one: contextual word vectors over a whole corpus.\n\n"
         "\b\nExample: sensesearch index corpora/demo --index indexes/demo && "
         "sensesearch query 'money in the [[bank]]' --index indexes/demo",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    # Plain click help: rich markup would eat "[[bank]]" in examples, and flags would show "<bool>".
    rich_markup_mode=None)


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
        if options.get("soft_wrap") is None and not _is_a_terminal(self.file):
            options["soft_wrap"] = True
        super().print(*(sensesearch.terminal_text(o) if isinstance(o, str) else o for o in objects), **options)


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


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum typer shows and checks as a choice."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]


Combine = choices("Combine", COMBINE_CHOICES)
Pooling = choices("Pooling", POOLING_CHOICES)
Precision = choices("Precision", PRECISION_CHOICES)
Compression = choices("Compression", COMPRESSION_CHOICES)


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 document', '2 documents', '1,234 usages', '2 queries' (with many="queries")."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {many or noun + 's'}"


def value(option: Any) -> Any:
    """The plain value of an Enum option (None stays None)."""
    return option.value if isinstance(option, Enum) else option


def check_value(check: Callable[[Any], Any] | str) -> Callable[[Any], Any]:
    """A parameter callback that turns a SenseSearchError of `check` into click's usage error (exit 2).

    `check` may be the name of a public `sensesearch` function, looked up when a value comes: options are made when
    the command line is imported, and `--help` must not import the store or the lemmatiser behind such checks.
    """
    def callback(given: Any) -> Any:
        # Text that is not UTF-8 is named, with its parameter, by the command's own check (see _check_text).
        if given is not None and not (isinstance(given, str) and utf8_problem(given)):
            try:
                (getattr(sensesearch, check) if isinstance(check, str) else check)(given)
            except SenseSearchError as exc:
                raise typer.BadParameter(str(exc)) from None
        return given
    return callback


def _check_model(model: str) -> None:
    sensesearch.check_model(model)


def _check_device(device: str) -> None:
    sensesearch.check_device(device)


def _check_plot(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SenseSearchError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SenseSearchError(f"folder {folder} is not writable")
    if path.is_dir():
        raise SenseSearchError(f"{path} is a folder; name a .png file")
    if path.suffix.lower() != ".png":
        raise SenseSearchError(f"the picture is a PNG: name the file .png, not {path.name!r}")


# An empty SENSESEARCH_INDEX counts as unset: Path("") would be the current folder.
DEFAULT_INDEX = os.environ.get("SENSESEARCH_INDEX") or "indexes/default"


def _index_folder(value: str | Path) -> Path:
    try:
        return Path(sensesearch.check_names([value], "index folder")[0])
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None


IndexOption = Annotated[Path, typer.Option("--index", "-i", parser=_index_folder,
                                           help="Index folder (env SENSESEARCH_INDEX).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV rows for a spreadsheet.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")]
WaitOption = Annotated[float, typer.Option(min=0, help="Seconds to wait for another writer to finish.")]
SEED_MAX = 2**32 - 1
"""The largest seed scikit-learn's k-means and NumPy's legacy generators take."""
DocumentOption = Annotated[Optional[list[str]], typer.Option(
    "--document", "-d", metavar="DOCUMENT",
    help="Only usages in this document: its label, its path or a unique file name (see `sensesearch documents`); "
         "repeatable.")]
ModelOption = Annotated[Optional[str], typer.Option(
    "--model", "-m", callback=check_value(_check_model),
    help="Model folder or Hugging Face id of a BERT-family encoder (offline unless HF_HUB_OFFLINE=0), or "
         f"tfhub:FOLDER (a TF Hub BERT encoder SavedModel) [default: {DEFAULT_MODEL}].")]
LayersOption = Annotated[Optional[str], typer.Option(
    callback=check_value(parse_layers), help="Hidden layers to combine, e.g. -4,-3,-2,-1 or 8:12 (8 to 11) [default: -4,-3,-2,-1].")]
CombineOption = Annotated[Optional[Combine], typer.Option(help="How layers combine [default: sum].")]  # type: ignore[valid-type]
PoolingOption = Annotated[Optional[Pooling], typer.Option(help="How word pieces pool [default: mean].")]  # type: ignore[valid-type]
PrecisionOption = Annotated[Optional[Precision], typer.Option(  # type: ignore[valid-type]
    help="Model arithmetic (int8: dynamic quantisation, CPU only; fp16/bf16: autocast, CUDA only, "
         "faster for BERT-base and larger) [default: float32].")]
DeviceOption = Annotated[Optional[str], typer.Option(
    callback=check_value(_check_device), help="torch device: cpu, cuda, cuda:N or mps [default: cuda, then mps, then cpu].")]
PlotOption = Annotated[Optional[Path], typer.Option(
    callback=check_value(_check_plot), help="Write a 2-D picture of the usages, coloured by sense, to this PNG file.")]
SenseOption = Annotated[Optional[str], typer.Option(
    "--sense", help="Only usages tagged with this named sense (see `sensesearch sense`): `usages` shows each "
                    "one's tag margin, `query` ranks them by cosine.")]


def guarded(command: F) -> F:
    """Turn every error into one line on stderr and a non-zero exit, never a traceback.

    Domain errors exit 1 (2 for a UsageError). An unexpected error (a bug, or a FAISS/torch failure) also gets one line;
    SENSESEARCH_TRACEBACK=1 shows the traceback instead.
    """
    labels = _parameter_labels(command)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_text(kwargs, labels)
        try:
            return command(*args, **kwargs)
        except SenseSearchError as exc:
            fail(str(exc), 2 if isinstance(exc, UsageError) else 1)
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            if os.environ.get(TRACEBACK_ENV) == "1":
                raise
            fail(f"unexpected {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''} "
                 f"(set {TRACEBACK_ENV}=1 to see where)")
    return wrapper  # type: ignore[return-value]


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


def utf8_problem(text: str) -> str | None:
    """Why `text` (from the command line or a terminal) cannot be used as text, or None: it holds bytes that are
    not UTF-8, which Python hands over as lone surrogates (PEP 383)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        what = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        return (f"is not valid UTF-8 text ({what} at character {exc.start + 1}); give it in UTF-8, or set the "
                "terminal's encoding to UTF-8")
    return None


def read_text_input(name: str | Path) -> str:
    """A text file's content, or standard input's for "-", decoded as `index` decodes a corpus (sensesearch.decode_text).

    InputError naming the file when it cannot be read or is not text.
    """
    try:
        data = sys.stdin.buffer.read() if str(name) == "-" else Path(name).read_bytes()
        return sensesearch.decode_text(data)[0]
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"cannot read {name}: {exc}") from None


def fail(message: str, code: int = 1) -> None:
    """Print `Error: message` on stderr (control characters drawn, see TerminalConsole) and exit with `code`."""
    err.print(Text.assemble(("Error: ", "bold red"), sensesearch.terminal_text(message)))
    raise typer.Exit(code)


class TerminalTable(Table):
    """A rich Table whose text cells are drawn as KWIC lines are (sensesearch.terminal_cell): a control character
    from a file name, metadata or a sentence (a terminal obeys ESC sequences) shows as its control picture, one
    cell wide."""

    def add_row(self, *renderables: Any, **options: Any) -> None:
        shown = sensesearch.terminal_cell
        super().add_row(*(shown(cell) if isinstance(cell, str)
                          else Text(shown(cell.plain), style=cell.style) if isinstance(cell, Text)
                          else cell for cell in renderables), **options)


def encoder_settings(model: str | None, layers: str | None, combine: Any, pooling: Any,
                     base: EncoderSettings | None = None, precision: Any = None) -> EncoderSettings:
    """Settings from CLI options, the unset ones taken from `base` (an existing index) or the defaults; UsageError
    for a layer the model lacks, read from its config.json before any weights load (sensesearch.check_layers)."""
    base = base or EncoderSettings()
    settings = EncoderSettings(model=model or base.model, layers=parse_layers(layers) if layers else base.layers,
                               combine=value(combine) or base.combine, pooling=value(pooling) or base.pooling,
                               max_length=base.max_length, stride=base.stride,
                               precision=value(precision) or base.precision)
    sensesearch.check_layers(settings.model, settings.layers)
    return settings


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
    for stream in (sys.stdout, sys.stderr):
        # A file name may hold bytes that are not UTF-8 (lone surrogates in Python, PEP 383): printed as escapes
        # (valid JSON too), where a strict UTF-8 terminal would end the command with UnicodeEncodeError.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Typed lines (`shell`) reach the command with such bytes as lone surrogates, which it reports (utf8_problem).
        sys.stdin.reconfigure(errors="surrogateescape")
    logging.basicConfig(level=os.environ.get("SENSESEARCH_LOG", "WARNING").upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    app()


from . import cli_index, cli_search, cli_docs, cli_serve, cli_robust, cli_eval, cli_sense  # noqa: E402,F401,I001
