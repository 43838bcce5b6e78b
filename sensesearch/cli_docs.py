"""Commands that describe: `info` (an index's counts and recipe), `documents` (what it holds) and
`compare` (one word's usages across a few sentences, as a cosine matrix that fits the terminal)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

import sensesearch

from .cli import TerminalTable, app, emit_json, err, fail, guarded, out, plural, read_text_input
from .cli_options import (DEFAULT_INDEX, CombineOption, CsvOption, DeviceOption, IndexOption, JsonOption, LayersOption,
                          ModelOption, PoolingOption, PrecisionOption, encoder_settings, named_path)
from .cli_progress import CommandProgress

DIGITS = 3
"""Decimals of a cosine in `compare`'s table and JSON alike."""


@app.command()
@guarded
def info(index: IndexOption = Path(DEFAULT_INDEX), json_: JsonOption = False) -> None:
    """Show an index's counts, model recipe and sizes.

    \b
    Example: sensesearch info --index indexes/demo --json
    """
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        data = source.info().to_dict()
    if json_:
        emit_json(data)
        return
    table = TerminalTable(show_header=False, box=None)
    for key, item in data.items():
        table.add_row(key, f"{item:,}" if isinstance(item, int) else str(item))
    n = data["occurrences"]
    # An empty index (every document removed) still has its files' fixed overhead: a per-occurrence size means nothing.
    table.add_row("bytes/occurrence", f"{data['bytes_vectors'] / n:.0f} vectors + {data['bytes_meta'] / n:.0f} metadata"
                  if n else "- (no occurrences)")
    out.print(table)


@app.command()
@guarded
def documents(
    index: IndexOption = Path(DEFAULT_INDEX),
    sense: Annotated[Optional[str], typer.Option(
        "--sense", metavar="WORD:SENSE", help="Only documents using WORD in this named sense, with how many of its "
                                              "usages are tagged so (see `sensesearch sense`).")] = None,
    min_count: Annotated[int, typer.Option("--min", min=1, help="With --sense: at least this many such usages.")] = 1,
    json_: JsonOption = False,
    csv_: CsvOption = False,
) -> None:
    """List the indexed documents: the label that -d and `remove` accept, path, counts and metadata.

    \b
    Example: sensesearch documents --index indexes/demo --csv

    \b
    Example: sensesearch documents --sense bank:finance --min 2 --index indexes/demo
    """
    if sense is not None:
        if csv_:
            fail("--sense lists documents as a table or --json", 2)
        from .cli_sense import print_sense_documents

        print_sense_documents(index, sense, min_count, json_)
        return
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        entries = source.catalog()
    if json_:
        emit_json([e.to_dict() for e in entries])
        return
    if csv_:
        fields = ["label", "path", "sentences", "occurrences", "word_pieces", "meta", "sentences_total"]
        rows = [{"label": e.label, "path": e.path, "sentences": e.sentences, "occurrences": e.occurrences,
                 "word_pieces": e.word_pieces, "meta": sensesearch.json_dumps(e.meta) if e.meta else "",
                 "sentences_total": "" if e.sentences_total is None else e.sentences_total} for e in entries]
        sys.stdout.write(sensesearch.records_to_csv(rows, fields))
        return
    table = TerminalTable(box=None, header_style="bold", pad_edge=False)
    table.add_column("document", overflow="fold", whole=True)
    table.add_column("path", overflow="fold", style="dim", whole=True)
    table.add_column("sentences", justify="right")
    table.add_column("occurrences", justify="right")
    table.add_column("metadata", overflow="fold", spelled=True)
    # A line break in a name drawn, not made a space like a real one; a decomposed "A\u030a.txt" beside "\u00c5.txt"
    # spelled as its escapes, where both had read alike.
    name = sensesearch.terminal_names([e.label for e in entries] + [e.path for e in entries])
    for e in entries:
        table.add_row(name[e.label], "" if e.path == e.label else name[e.path], _sentences_text(e),
                      f"{e.occurrences:,}", ", ".join(f"{sensesearch.field_as_written(k)}={_meta_text(v)}"
                                                      for k, v in e.meta.items()))
    out.print(table)
    cut = sum(e.sentences_total is not None for e in entries)
    them = "it" if cut == 1 else "them"
    err.print(f"{plural(len(entries), 'document')}, {plural(sum(e.occurrences for e in entries), 'occurrence')}"
              + (f"; {cut} cut short by a run that stopped: `sensesearch index` of the same files finishes {them}, "
                 f"`verify --repair` removes {them}" if cut else ""))


def _sentences_text(entry: sensesearch.DocumentEntry) -> str:
    """The sentences column: "35 of 58" for a document an ingest run stopped inside, which had been listed with the
    35 as if whole."""
    if entry.sentences_total is None:
        return f"{entry.sentences:,}"
    return f"{entry.sentences:,} of {entry.sentences_total:,}"


META_WIDTH = 40
"""Terminal cells of one metadata value in the `documents` table (then "…"): a long one hid the fields after it."""


def _meta_text(value: object) -> str:
    """A metadata value as listings spell it (conditions.value_as_written: `year=None` had shown Python's spelling of
    a JSON null, and a title "War, and peace" read as two fields), cut at META_WIDTH. Keys are written as a --where
    condition names them (conditions.field_as_written): a key "a, b" or "a=b" in quotes."""
    shown = Text(sensesearch.value_as_written(value))
    shown.truncate(META_WIDTH, overflow="ellipsis")
    return shown.plain


@app.command()
@guarded
def compare(
    word: Annotated[str, typer.Argument(help="The word to compare across the lines.")],
    file: Annotated[Path, typer.Argument(parser=named_path("file"),
                                         help="One sentence per line, or - for stdin; a [[marked]] usage of WORD "
                                              "(or of a form of it, e.g. banks) picks which.")],
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    precision: PrecisionOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
    csv_: CsvOption = False,
) -> None:
    """Print the cosine similarity of WORD's usages in each line of FILE against each other.

    \b
    Example: sensesearch compare bank corpora/demo/bank_lines.txt
    """
    lines = sensesearch.physical_lines(read_text_input(file))
    settings = encoder_settings(model, layers, combine, pooling, precision=precision, device=device)
    sensesearch.check_compare_lines(word, lines)
    with CommandProgress(err, quiet=json_ or csv_) as progress:
        progress.phase("loading the model")
        encoder = sensesearch.load_encoder(settings, device)
        progress.phase(f"encoding {plural(len([ln for ln in lines if ln.strip()]), 'line')}")
        result = sensesearch.compare_usages(encoder, word, lines)
    matrix = [[sensesearch.reported_cosine(v, DIGITS) for v in row] for row in result.similarity]
    if json_:
        emit_json({**result.to_dict(), "similarity": matrix})
    elif csv_:
        # Rows and columns are named by the file's line numbers, as an error about a line names it (blank lines
        # counted): numbered over the non-blank lines, they named other lines than the messages did.
        fields = ["#", "sentence", *map(str, result.lines)]
        rows = [dict(zip(fields, [n, sentence, *row])) for n, sentence, row in zip(result.lines, result.sentences,
                                                                                     matrix)]
        sys.stdout.write(sensesearch.records_to_csv(rows, fields))
    else:
        print_matrix(result.sentences, matrix, out.width, result.lines)


def print_matrix(sentences: list[str], matrix: list[list[float]], width: int, lines: list[int] | None = None) -> None:
    """Sentences and matrix in one table when the sentence column keeps >= 30 characters; else the
    numbered sentences, then the matrix below, in blocks of columns that fit `width`. Rows and columns are numbered
    by `lines` (the file's line numbers), else 1, 2, ..."""
    names = [str(n) for n in (lines or range(1, len(sentences) + 1))]
    cell = max(DIGITS + 3, max(map(len, names), default=1))
    number = max(map(len, names), default=1) + 1
    room = width - number - (cell + 1) * len(sentences) - 3
    if room >= 30:
        out.print(_matrix_table(sentences, matrix, range(len(matrix)), names, number, cell, room))
        return
    for name, sentence in zip(names, sentences):
        out.print(f"{name:>{number}}  {sentence}", soft_wrap=False, overflow="fold")
    per_block = max(1, (width - number - 2) // (cell + 1))
    for first in range(0, len(matrix), per_block):
        out.print()
        out.print(_matrix_table(None, matrix, range(first, min(first + per_block, len(matrix))), names, number, cell,
                                0))
    if per_block < len(matrix):
        err.print(f"The matrix is {len(matrix)} columns wide: shown in blocks; --csv or --json give it whole.")


def _matrix_table(sentences: list[str] | None, matrix: list[list[float]], columns: range, names: list[str],
                  number: int, cell: int, room: int) -> TerminalTable:
    table = TerminalTable(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True, min_width=number)
    if sentences is not None:
        table.add_column("sentence", overflow="fold", max_width=room, whole=True)
    for j in columns:
        table.add_column(names[j], justify="right", no_wrap=True, min_width=cell)
    for i, row in enumerate(matrix):
        cells: list[Any] = [names[i]]
        if sentences is not None:
            cells.append(sentences[i])
        table.add_row(*cells, *[f"{row[j]:.{DIGITS}f}" for j in columns])
    return table
