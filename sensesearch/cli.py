"""The `sensesearch` command line: a thin typer skin over SenseIndex."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import kwic
from .compare import compare as compare_usages
from .config import (COMBINE_CHOICES, COMPRESSION_CHOICES, DEFAULT_MODEL, POOLING_CHOICES, PRECISION_CHOICES,
                     EncoderSettings, IndexConfig, parse_layers)
from .corpus import check_paths
from .encoder import load_encoder
from .engines import check_engine, open_engine
from .errors import SenseSearchError
from .index import SenseIndex
from .ingest import ChunkEncoder
from .cli_lexico import LemmaOption, WhereOption
from .lemmas import DEFAULT_LANGUAGE
from .records import IngestReport

app = typer.Typer(
    help="Find usages of a word like this one: contextual word vectors over a whole corpus.\n\n"
         "Example: sensesearch index corpora/demo --index indexes/demo && "
         "sensesearch query 'money in the [[bank]]' --index indexes/demo",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console(soft_wrap=False, highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_INDEX = os.environ.get("SENSESEARCH_INDEX", "indexes/default")
IndexOption = Annotated[Path, typer.Option("--index", "-i", help="Index folder (env SENSESEARCH_INDEX).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV rows for a spreadsheet.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
DocumentOption = Annotated[Optional[list[str]], typer.Option(
    "--document", "-d", help="Only usages in this document (path or JSONL id); repeatable.")]
ModelOption = Annotated[Optional[str], typer.Option(
    "--model", "-m", help=f"Hugging Face id or local path of a BERT-family encoder [default: {DEFAULT_MODEL}].")]
LayersOption = Annotated[Optional[str], typer.Option(
    help="Hidden layers to combine, e.g. -4,-3,-2,-1 or 8:12 [default: -4,-3,-2,-1].")]
CombineOption = Annotated[Optional[str], typer.Option(help=f"How layers combine: {'|'.join(COMBINE_CHOICES)} [default: sum].")]
PoolingOption = Annotated[Optional[str], typer.Option(help=f"How word pieces pool: {'|'.join(POOLING_CHOICES)} [default: mean].")]
PrecisionOption = Annotated[Optional[str], typer.Option(
    help=f"Model arithmetic: {'|'.join(PRECISION_CHOICES)} (int8: dynamic quantisation, faster on CPU) "
         "[default: float32].")]
DeviceOption = Annotated[Optional[str], typer.Option(help="torch device (default: cuda, then mps, then cpu).")]


def guarded(command: F) -> F:
    """Turn domain errors into one line on stderr and exit code 1, never a traceback."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SenseSearchError as exc:
            err.print(Text.assemble(("Error: ", "bold red"), str(exc)), soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
    return wrapper  # type: ignore[return-value]


def encoder_settings(model: str | None, layers: str | None, combine: str | None, pooling: str | None,
                     base: EncoderSettings | None = None, precision: str | None = None) -> EncoderSettings:
    """Settings from CLI options, the unset ones taken from `base` (an existing index) or the defaults."""
    base = base or EncoderSettings()
    return EncoderSettings(model=model or base.model, layers=parse_layers(layers) if layers else base.layers,
                           combine=combine or base.combine, pooling=pooling or base.pooling,
                           max_length=base.max_length, stride=base.stride, precision=precision or base.precision)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
@guarded
def index(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursively: .txt, .jsonl) or - for stdin.")],
    index: IndexOption = Path(DEFAULT_INDEX),
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    compression: Annotated[str, typer.Option(help=f"Vector storage for a new index: {'|'.join(COMPRESSION_CHOICES)}.")] = "sq8",
    precision: PrecisionOption = None,
    device: DeviceOption = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another writer to finish.")] = 0,
    quiet: QuietOption = False,
    db: Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL of a new index's metadata store, e.g. "
                  "postgresql://host/db (default: SQLite in the index folder).")] = None,
    engine: Annotated[str, typer.Option(
        help="Where the model runs: local (this process) or ray (Ray Data workers).")] = "local",
    address: Annotated[Optional[str], typer.Option(
        help="Ray cluster for --engine ray, e.g. auto (default: start one here).")] = None,
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="Encoder actors for --engine ray (default: one per GPU, else one per CPU).")] = None,
    lemma_language: Annotated[Optional[str], typer.Option(
        help=f"Language(s) of a new index's lemmas (ISO 639, e.g. en or de,en) [default: {DEFAULT_LANGUAGE}].")] = None,
) -> None:
    """Index every word occurrence of the given texts (adds to an existing index).

    Example: sensesearch index corpora/inaugural corpora/demo --index indexes/default
    """
    if compression not in COMPRESSION_CHOICES:
        raise SenseSearchError(f"compression must be one of {', '.join(COMPRESSION_CHOICES)}")
    check_engine(engine, address, workers)
    check_paths(paths)
    exists = (index / "config.json").exists()
    asked: EncoderSettings | None = None
    if not exists or any((model, layers, combine, pooling, precision)):
        base = IndexConfig.load(index).encoder if exists else None
        asked = encoder_settings(model, layers, combine, pooling, base, precision)
    with (SenseIndex.open_or_create(index, asked, compression=compression, db_url=db, device=device,
                                    lock_timeout=wait, lemma_language=lemma_language) as target,
          open_engine(engine, target, address, workers) as chunk_encoder):
        report = _run_with_progress(target, paths, quiet, chunk_encoder)
    if not quiet:
        _print_report(report, index)
    if report.skipped and not (report.documents_indexed or report.documents_unchanged or report.documents_replaced):
        first = report.skipped[0]
        raise SenseSearchError(f"nothing was indexed: all {len(report.skipped)} inputs were skipped "
                               f"(first: {first.path}: {first.reason})")


def _run_with_progress(target: SenseIndex, paths: list[str], quiet: bool,
                       chunk_encoder: ChunkEncoder | None = None) -> IngestReport:
    if quiet:
        return target.add(paths, chunk_encoder=chunk_encoder)
    started = time.perf_counter()
    columns = [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("loading model")
        target.encoder  # noqa: B018  (load before the clock of the first batch starts)

        def update(docs: int, sentences: int, pieces: int) -> None:
            rate = pieces / max(time.perf_counter() - started, 1e-9)
            progress.update(task, description=f"{docs} documents, {sentences} sentences, {pieces} word pieces "
                                              f"({rate:,.0f} pieces/s)")

        progress.update(task, description="reading")
        return target.add(paths, progress=update, chunk_encoder=chunk_encoder)


def _print_report(report: IngestReport, index_path: Path) -> None:
    rate = report.word_pieces / report.seconds if report.seconds else 0.0
    err.print(f"Indexed {report.documents_indexed} documents ({report.documents_unchanged} unchanged, "
              f"{report.documents_replaced} replaced): {report.sentences} sentences, {report.occurrences} occurrences, "
              f"{report.word_pieces} word pieces in {report.seconds:.1f} s ({rate:,.0f} pieces/s) into {index_path}")
    if report.skipped:
        err.print(f"Skipped {len(report.skipped)}:")
        for skipped in report.skipped:
            err.print(f"  {skipped.path}: {skipped.reason}", markup=False, soft_wrap=True)


@app.command()
@guarded
def query(
    text: Annotated[str, typer.Argument(help='A sentence with the word marked: "the [[bank]] raised its rates".')],
    index: IndexOption = Path(DEFAULT_INDEX),
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many usages to return.")] = 10,
    any_word: Annotated[bool, typer.Option("--any-word", help="Nearest usages of any word, not only the same word.")] = False,
    document: DocumentOption = None,
    sort: Annotated[str, typer.Option(help="Order lines by score, left or right context.")] = "score",
    nprobe: Annotated[Optional[int], typer.Option(help="IVF lists to visit in --any-word search.")] = None,
    json_: JsonOption = False,
    csv_: CsvOption = False,
    device: DeviceOption = None,
    lemma: LemmaOption = False,
    where: WhereOption = None,
) -> None:
    """Find the usages nearest in meaning to the marked word.

    Example: sensesearch query "We sat on the [[bank]] of the river." --index indexes/default -k 5
    """
    with SenseIndex.open(index, read_only=True, device=device) as source:
        hits = source.query(text, k=k, any_word=any_word, documents=document, nprobe=nprobe, lemma=lemma,
                            where=where or ())
    _print_hits(kwic.sort_hits(hits, sort), json_, csv_)


def _print_hits(hits: list, json_: bool, csv_: bool) -> None:
    if json_:
        sys.stdout.write(kwic.to_json(hits) + "\n")
    elif csv_:
        sys.stdout.write(kwic.to_csv(hits))
    else:
        kwic.render_kwic(hits, out)


@app.command()
@guarded
def usages(
    word: Annotated[str, typer.Argument(help="The word (case-insensitive).")],
    index: IndexOption = Path(DEFAULT_INDEX),
    limit: Annotated[Optional[int], typer.Option(min=1, help="At most this many usages.")] = None,
    sort: Annotated[str, typer.Option(help="Order by corpus position (score), left or right context.")] = "score",
    document: DocumentOption = None,
    json_: JsonOption = False,
    csv_: CsvOption = False,
    lemma: LemmaOption = False,
    where: WhereOption = None,
) -> None:
    """List the usages of a word as keyword-in-context lines.

    Example: sensesearch usages bank --lemma --where 'year>=1950' --index indexes/default --sort right --limit 20
    """
    with SenseIndex.open(index, read_only=True) as source:
        hits = source.usages(word, limit=limit, documents=document, lemma=lemma, where=where or ())
    _print_hits(kwic.sort_hits(hits, sort), json_, csv_)


@app.command()
@guarded
def compare(
    word: Annotated[str, typer.Argument(help="The word to compare across the lines.")],
    file: Annotated[str, typer.Argument(help="One sentence per line (a [[marked]] word wins), or - for stdin.")],
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    precision: PrecisionOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Print the cosine similarity of WORD's usages in each line of FILE against each other.

    Example: sensesearch compare bank corpora/demo/bank_lines.txt
    """
    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise SenseSearchError(f"cannot read {file}: {exc.strerror or exc}") from None
    encoder = load_encoder(encoder_settings(model, layers, combine, pooling, precision=precision), device)
    result = compare_usages(encoder, word, lines)
    if json_:
        emit_json(result.to_dict())
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("sentence", max_width=max(20, out.width - 8 - 6 * len(result.sentences)),
                     overflow="ellipsis", no_wrap=True)
    for i in range(len(result.sentences)):
        table.add_column(str(i + 1), justify="right", no_wrap=True, min_width=4)
    for i, (sentence, row) in enumerate(zip(result.sentences, result.similarity)):
        table.add_row(str(i + 1), sentence, *[f"{v:.2f}" for v in row])
    out.print(table)


@app.command()
@guarded
def info(index: IndexOption = Path(DEFAULT_INDEX), json_: JsonOption = False) -> None:
    """Show an index's counts, model recipe and sizes.

    Example: sensesearch info --index indexes/default --json
    """
    with SenseIndex.open(index, read_only=True) as source:
        data = source.info().to_dict()
    if json_:
        emit_json(data)
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    n = max(data["occurrences"], 1)
    table.add_row("bytes/occurrence", f"{data['bytes_vectors'] / n:.0f} vectors + {data['bytes_meta'] / n:.0f} metadata")
    out.print(table)


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=os.environ.get("SENSESEARCH_LOG", "WARNING").upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    app()
from . import cli_serve  # noqa: E402,F401
from . import cli_robust  # noqa: E402,F401
from . import cli_eval  # noqa: E402,F401
