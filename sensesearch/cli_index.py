"""The `index` command: read, encode and store every word occurrence, with honest progress.

A run that fails (every input skipped, an engine or database that cannot start, Ctrl+C) on an index
it was creating removes what it made, so the next run starts from a clean slate.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

import sensesearch
from sensesearch import Document, IngestReport, InputError, InputScan, Skipped

from .cli import app, err, guarded, listed_apart, plural
from .cli_options import (DEFAULT_INDEX, CombineOption, Compression, DeviceOption, IndexOption, LayersOption,
                          ModelOption, PoolingOption, PrecisionOption, QuietOption, WaitOption, check_value, choices,
                          TerminalLogHandler, encoder_settings, value)
from .cli_progress import CommandProgress
from .cli_written import WrittenBytes

STDIN = "-"
Engine = choices("Engine", sensesearch.ENGINES)


@app.command()
@guarded
def index(
    paths: Annotated[list[str], typer.Argument(metavar="PATH",
                                               help="Files, folders (recursively: .txt, .text, .md, .jsonl, "
                                                    ".ndjson) or - for stdin.")],
    index: IndexOption = Path(DEFAULT_INDEX),
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    compression: Annotated[Optional[Compression], typer.Option(  # type: ignore[valid-type]
        help="Vector storage of a new index [default: sq8].")] = None,
    precision: PrecisionOption = None,
    device: DeviceOption = None,
    wait: WaitOption = 0,
    quiet: QuietOption = False,
    db: Annotated[Optional[str], typer.Option("--db", callback=check_value("check_db_url"), help=(
        "SQLAlchemy URL of a new index's metadata store, e.g. postgresql://host/db [default: SQLite in the index "
        "folder]."))] = None,
    engine: Annotated[Engine, typer.Option(  # type: ignore[valid-type]
        help="Where the model runs: local (this process) or ray (Ray Data workers).")] = "local",  # type: ignore[assignment]
    address: Annotated[Optional[str], typer.Option(
        help="Ray cluster for --engine ray, e.g. auto [default: start one here].")] = None,
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="Encoder actors for --engine ray [default: one per GPU, else one per CPU].")] = None,
    lemma_language: Annotated[Optional[str], typer.Option(
        callback=check_value("parse_lemma_language"),
        help="Language(s) of a new index's lemmas (ISO 639, e.g. en or de,en) [default: en].")] = None,
) -> None:
    """Index every word occurrence of the given texts (adds to an existing index).

    \b
    Example: sensesearch index corpora/demo --index indexes/demo
    """
    progress = CommandProgress(err, quiet)
    engine = value(engine)
    sensesearch.check_engine(engine, address, workers)
    scan = sensesearch.check_paths(paths)
    sensesearch.check_write_access(index)  # read-only media: one line, before any progress or model
    if scan.skipped and not quiet:  # said before the model loads, so a wrong input costs no wait
        err.print(f"Will leave out {plural(len(scan.skipped), 'input')}:")
        _print_skipped(scan.skipped)
    if not scan.files:  # every input left out (a link loop, a folder of no text files): no model to wait for
        first = scan.skipped[0] if scan.skipped else None
        raise InputError("nothing to index: "
                         + (f"every input is skipped ({_first(first)})" if first else "no input to read"))
    existing = sensesearch.read_index_config(index) if (index / "config.json").exists() else None
    stdin = sys.stdin.buffer.read() if STDIN in paths else None  # read once, here: it may be looked at twice
    if existing is None or all(str(path) == STDIN for path in scan.files):
        _check_something_to_read(scan, stdin)
    asked = None
    if existing is None or any((model, layers, combine, pooling, precision)):
        asked = encoder_settings(model, layers, combine, pooling, existing and existing.encoder, precision, device)
    if existing is not None:  # a setting the index does not have: one line, before the model loads
        sensesearch.check_reopen(index, existing, asked, compression=value(compression), db_url=db,
                                 lemma_language=lemma_language)
        sensesearch.check_precision(existing.encoder.precision, device, recorded=True)
    sized = None if STDIN in paths else scan.files  # sized once, by WrittenBytes: its total and positions agree
    made = _Undo(index) if existing is None else None
    with progress, _skips_listed_once(not quiet):
        # "loading the model" once the write lock is this run's: a run waiting for it (--wait) says so instead.
        with sensesearch.SenseIndex.open_or_create(index, asked, compression=value(compression), db_url=db,
                                                   device=device, lock_timeout=wait, lemma_language=lemma_language,
                                                   lock_wait=progress.lock_wait(index, "loading the model")) as target:
            # Undone only if this run made the index: another run may make it between the look above and the lock
            # open_or_create takes, and this one then opens that index (and may fail on it) instead.
            undo = made if target.created else None
            try:
                with sensesearch.open_engine(engine, target, address, workers, quiet=quiet) as chunk_encoder:
                    report = _add(target, scan, progress, sized, chunk_encoder, stdin)
                indexed = report.documents_indexed or report.documents_unchanged or report.documents_replaced
                if report.skipped and not indexed:
                    first = report.skipped[0]
                    raise InputError(f"nothing was indexed: {'the input was' if len(report.skipped) == 1 else f'all {len(report.skipped)} inputs were'} "
                                     f"skipped ({_first(first)})"
                                     + ("; no index was created" if undo else ""))
            except BaseException:
                if undo is not None:
                    undo.undo(target)
                raise
    if not quiet:
        _print_report(report, index, progress.elapsed())


@contextlib.contextmanager
def _skips_listed_once(listed: bool) -> Iterator[None]:
    """While the report will list the skipped inputs, the terminal's log handler leaves out the same warnings."""
    def unlisted(record: logging.LogRecord) -> bool:
        return not getattr(record, "listed_in_report", False)

    # Only the handler that prints to the terminal (main's); capturing ones keep all.
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, TerminalLogHandler)] if listed else []
    for handler in handlers:
        handler.addFilter(unlisted)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(unlisted)


def _check_something_to_read(scan: InputScan, stdin: bytes | None) -> None:
    """InputError when no input holds text (empty or binary files, an empty stdin), before the model loads.

    Reads the inputs up to the first document with text, mostly the first file. Only where nothing indexed can be
    replaced (a new index, or stdin alone, whose documents are named by their content): in an existing index an
    emptied file still drops its old version, so that run goes on.
    """
    first: Skipped | None = None
    for item in sensesearch.read_corpus(scan, stdin=None if stdin is None else io.BytesIO(stdin)):
        if isinstance(item, Document) and item.text.strip():
            return
        if first is None:
            # Named as ingest names an empty document (a JSONL record with its file).
            first = item if isinstance(item, Skipped) else Skipped(
                item.label if item.label.startswith(item.path) else f"{item.path}#{item.label}", "empty document")
    reason = f"every input is skipped ({_first(first)})" if first else "no input to read"
    raise InputError("nothing to index: " + reason)


def _add(target: sensesearch.SenseIndex, scan: InputScan, progress: CommandProgress, sized: list[Path] | None,
         chunk_encoder: object, stdin: bytes | None) -> IngestReport:
    """Encode with a bar over the input's bytes written (cli_written.WrittenBytes): moved as documents are written,
    those that need no encoding too (a re-run over unchanged files had sat at 0% to its end), with the sentences and
    rate of the last chunk written."""
    started = [0.0]
    detail = [""]
    done = WrittenBytes(sized, moved=lambda position: progress.update(position, detail[0]))

    def update(docs: int, sentences: int, pieces: int) -> None:  # before the chunk's move (ingest's order)
        rate = pieces / max(time.perf_counter() - started[0], 1e-9)
        detail[0] = f"{plural(sentences, 'sentence')}, {rate:,.0f} pieces/s"

    target.prepare_to_add()  # loaded here, so that the encoding phase's clock starts after it
    progress.phase("reading and encoding", total=done.total, unit="bytes")
    started[0] = time.perf_counter()
    return target.add(scan, progress=update, chunk_encoder=chunk_encoder,  # type: ignore[arg-type]
                      phase=progress.phase, read=done.read, written=done.written,
                      stdin=None if stdin is None else io.BytesIO(stdin))


class _Undo:
    """What a run that creates an index must remove if it fails: the folder, or what it added to one, and the
    tables it made in a metadata store outside the folder (a PostgreSQL schema), which may hold committed rows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.existed = folder.is_dir()
        self.before = set(folder.iterdir()) if self.existed else set()

    def undo(self, made: sensesearch.SenseIndex) -> None:
        """Remove what the run made of the index `made`, holding the folder's write lock until its file goes last,
        so that a run waiting for the lock finds the folder as it was, never the index half removed."""
        lock = made.close_keeping_lock()
        lock_file = Path(lock.lock_file) if lock is not None else None
        try:
            sensesearch.release_outside_store(self.folder, made.config)
            for entry in set(self.folder.iterdir()) - self.before - {lock_file}:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            if lock_file is not None and lock_file not in self.before:
                lock_file.unlink(missing_ok=True)
            if not self.existed:
                # Parents made along with the folder stay: they may be shared, and are empty at worst.
                with contextlib.suppress(OSError):
                    self.folder.rmdir()
        finally:
            if lock is not None:
                lock.release()


def _first(skipped: sensesearch.Skipped) -> str:
    """The first skipped input, as an error's one line names it: its name drawn (terminal_name), since the error's
    own drawing keeps line breaks and tabs, and "a\nb.txt" broke the line while "a\tb.txt" read as "a b.txt"."""
    return f"first: {sensesearch.terminal_name(skipped.path)}: {skipped.reason}"


def _print_skipped(skipped: Sequence[Skipped]) -> None:
    """One line for each input left out, its name drawn and spelled apart from the others' (terminal_names)."""
    shown_as = sensesearch.terminal_names(each.path for each in skipped)
    for each in skipped:
        err.print(f"  {shown_as[each.path]}: {sensesearch.terminal_name(each.reason)}", markup=False, soft_wrap=True)


def _print_report(report: IngestReport, index_path: Path, seconds: float) -> None:
    rate = report.word_pieces / report.seconds if report.seconds else 0.0
    # A run that encoded nothing (every document unchanged) has no rate: it said "0 pieces/s while encoding".
    encoding = f" ({rate:,.0f} pieces/s while encoding)" if report.word_pieces else ""
    err.print(f"Indexed {plural(report.documents_indexed, 'document')} ({report.documents_unchanged:,} unchanged, "
              f"{report.documents_replaced:,} replaced): {plural(report.sentences, 'sentence')}, "
              f"{plural(report.occurrences, 'occurrence')}, {plural(report.word_pieces, 'word piece')} "
              f"in {seconds:.1f} s{encoding} into {index_path}")
    if report.skipped:
        err.print(f"Skipped {len(report.skipped):,}:")
        _print_skipped(report.skipped)
    if report.absent:
        # Appending never removes: a file deleted from a folder, or a record from a JSONL file, still answers.
        names = listed_apart(list(zip(report.absent, report.absent_paths)), 5)
        err.print(f"Not read this time, still indexed: {plural(len(report.absent), 'document')} indexed before from "
                  f"these paths ({names}): deleted since, or skipped; `sensesearch remove` takes them out",
                  markup=False)
