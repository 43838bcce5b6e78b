"""The options commands share and the checks behind them: each value is typed or checked by a parameter callback,
so a bad one fails (exit 2) before a model or an index is opened. cli.py holds the app and how commands fail."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TextIO

import typer

import sensesearch
from sensesearch import (COMBINE_CHOICES, COMPRESSION_CHOICES, DEFAULT_MODEL, POOLING_CHOICES, PRECISION_CHOICES,
                         SEED_MAX, EncoderSettings, SenseSearchError, SetupError, UsageError, parse_layers)


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum typer shows and checks as a choice."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]


Combine = choices("Combine", COMBINE_CHOICES)
Pooling = choices("Pooling", POOLING_CHOICES)
Precision = choices("Precision", PRECISION_CHOICES)
Compression = choices("Compression", COMPRESSION_CHOICES)


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
        raise UsageError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"folder {folder} is not writable")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; name a .png file")
    if path.suffix.lower() != ".png":
        raise UsageError(f"the picture is a PNG: name the file .png, not {path.name!r}")


# An empty SENSESEARCH_INDEX counts as unset: Path("") would be the current folder.
DEFAULT_INDEX = os.environ.get("SENSESEARCH_INDEX") or "indexes/default"


def named_path(what: str) -> Callable[[str | Path], Path]:
    """A parameter parser for a file or folder name: a usage error (exit 2) for an empty or blank one (check_names).

    Typed as a bare Path, an unset shell variable's "" had become ".", the current folder: `query --file ""` said
    "cannot read .: Is a directory", `eval wic "" ""` searched the current folder for data, `--plot ""` called it a
    folder, none of them naming the empty name given.
    """
    def parse(given: str | Path) -> Path:
        try:
            return Path(sensesearch.check_names([given], what)[0])
        except UsageError as exc:
            raise typer.BadParameter(str(exc)) from None
    return parse


IndexOption = Annotated[Path, typer.Option("--index", "-i", parser=named_path("index folder"),
                                           help="Index folder (env SENSESEARCH_INDEX).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV rows for a spreadsheet.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")]
WaitOption = Annotated[float, typer.Option(callback=check_value(lambda seconds: sensesearch.check_number(
    seconds, "the wait", least=0)), help="Seconds (0 or more) to wait for another writer to finish.")]
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
    parser=named_path("picture file"), callback=check_value(_check_plot),
    help="Write a 2-D picture of the usages, coloured by sense, to this PNG file.")]
SenseOption = Annotated[Optional[str], typer.Option(
    "--sense", callback=check_value("check_search_sense"), help="Only usages tagged with this named sense (see `sensesearch sense`): `usages` shows each "
                    "one's tag margin, `query` ranks them by cosine.")]


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


def encoder_settings(model: str | None, layers: str | None, combine: Any, pooling: Any,
                     base: EncoderSettings | None = None, precision: Any = None,
                     device: str | None = None) -> EncoderSettings:
    """Settings from CLI options, the unset ones taken from `base` (an existing index) or the defaults; UsageError
    for a layer the model lacks, read from its config.json before any weights load (sensesearch.check_layers), and
    for a --precision `device` cannot run (sensesearch.check_precision; an existing index's own is checked, in its
    words, as its model loads)."""
    base = base or EncoderSettings()
    settings = EncoderSettings(model=model or base.model, layers=parse_layers(layers) if layers else base.layers,
                               combine=value(combine) or base.combine, pooling=value(pooling) or base.pooling,
                               max_length=base.max_length, stride=base.stride,
                               precision=value(precision) or base.precision)
    sensesearch.check_layers(settings.model, settings.layers)
    if value(precision):
        sensesearch.check_precision(settings.precision, device)
    return settings


LOG_ENV = "SENSESEARCH_LOG"


def log_level() -> str:
    """The logging level $SENSESEARCH_LOG names (WARNING when unset), or SetupError: an unknown name had ended every
    command, --help too, with logging's ValueError traceback."""
    raw = os.environ.get(LOG_ENV, "")
    level = raw.strip().upper() or "WARNING"
    if level not in logging.getLevelNamesMapping():
        raise SetupError(f"{LOG_ENV} must be a logging level (DEBUG, INFO, WARNING, ERROR or CRITICAL), not {raw!r}")
    return level


class TerminalLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The command line's log handler: writes to sys.stderr as it is when a record comes, not as it was when logging
    was set up. While a progress bar is drawn (cli_progress), rich puts a proxy there that prints each line above the
    bar; logging's own StreamHandler, holding the stderr of its start, had written a warning (a skipped file, a batch
    the GPU had no memory for) onto the bar's line, glued after the bar's text, which stayed so in the scrollback."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler's constructor and setStream set it: the stream is always the stderr of the moment
