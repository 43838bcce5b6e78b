"""Search commands: `query` (one sentence, or a file of them) and `usages`.

`shell` (the model kept warm) is cli_shell.py's, over this module's QueryOptions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import sensesearch
from sensesearch import QUERY_SORTS, USAGE_SORTS, Hit, QueryError, SenseNotFoundError, WordNotFoundError

from .cli import app, err, fail, guarded, input_name, out, plural, read_text_input, reader_gone
from .cli_options import (DEFAULT_INDEX, CsvOption, DeviceOption, DocumentOption, IndexOption, JsonOption, choices,
                          SenseOption, named_path, value)
from .cli_lexico import LemmaOption, WhereOption
from .cli_progress import CommandProgress

QuerySort = choices("QuerySort", QUERY_SORTS)
UsageSort = choices("UsageSort", USAGE_SORTS)
ANY_WORD_HINT = "; try --any-word to search usages of every word"


class QueryOptions:
    """What one query asks besides its text; the shell changes these between queries."""

    def __init__(self, k: int = 10, any_word: bool = False, documents: list[str] | None = None,
                 sort: str = "score", nprobe: int | None = None, sense: str | None = None, lemma: bool = False,
                 where: list[str] | None = None, any_word_hint: str = ANY_WORD_HINT) -> None:
        self.k, self.any_word, self.documents, self.sort, self.nprobe = k, any_word, documents, sort, nprobe
        self.sense, self.lemma, self.where = sense, lemma, where or []
        self.any_word_hint = any_word_hint
        """What a word the index lacks is told to try, as this front end spells it (the shell: `:any on`)."""

    def run(self, source: sensesearch.SenseIndex, text: str) -> list[Hit]:
        try:
            if self.sense:
                hits = sensesearch.query_by_sense(source, text, self.sense, self.k, self.any_word, self.documents,
                                                  self.where)
            else:
                hits = source.query(text, k=self.k, any_word=self.any_word, documents=self.documents,
                                    nprobe=self.nprobe, lemma=self.lemma, where=self.where)
        except WordNotFoundError as exc:
            if self.any_word or not exc.any_word_helps:
                raise
            raise WordNotFoundError(str(exc) + self.any_word_hint) from None
        return sensesearch.sort_hits(hits, self.sort)

    def check(self, source: sensesearch.SenseIndex, text: str) -> None:
        """Refuse what `run` would refuse without the model, before it loads: an unknown sense, or a one-word
        query (a phrase needs the tokenizer to split it) whose word has no usage where asked (SQL only)."""
        word = sensesearch.bare_word(sensesearch.parse_marked(text).word)
        try:
            if self.sense and not self.any_word:
                word, name = sensesearch.sense_of_query(text, self.sense)
                source.sense(word).usages(name, limit=1, documents=self.documents, where=self.where)
            elif not self.any_word and sensesearch.is_one_word(word):
                source.usages(word, limit=1, documents=self.documents, lemma=self.lemma, where=self.where)
        except WordNotFoundError as exc:
            if not exc.any_word_helps:
                raise
            raise WordNotFoundError(str(exc) + self.any_word_hint) from None


def print_hits(hits: list[Hit], json_: bool, csv_: bool) -> None:
    if json_:
        sys.stdout.write(sensesearch.hits_to_json(hits) + "\n")
    elif csv_:
        sys.stdout.write(sensesearch.hits_to_csv(hits))
    else:
        sensesearch.render_kwic(hits, out)


def _query_lines(file: Path) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line; every line checked for its marker before the model loads."""
    raw = read_text_input(file)
    lines = [(n, line.strip()) for n, line in enumerate(sensesearch.physical_lines(raw), start=1) if line.strip()]
    if not lines:
        raise QueryError(f"{input_name(file)} holds no query: write one sentence with a [[marked]] word a line")
    for number, line in lines:
        try:
            sensesearch.parse_marked(line)
        except QueryError as exc:
            raise QueryError(f"{input_name(file)}, line {number}: {exc}") from None
    return lines


@app.command()
@guarded
def query(
    text: Annotated[Optional[str], typer.Argument(
        metavar="TEXT", help='A sentence with the word marked: "the [[bank]] raised its rates".')] = None,
    index: IndexOption = Path(DEFAULT_INDEX),
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many usages to return.")] = 10,
    any_word: Annotated[bool, typer.Option("--any-word", help="Nearest usages of any word, not only the same word.")] = False,
    document: DocumentOption = None,
    sort: Annotated[QuerySort, typer.Option(help="Order lines by score, or by the left or right context.")] = "score",  # type: ignore[valid-type,assignment]
    nprobe: Annotated[Optional[int], typer.Option(min=1, help="IVF lists to visit in --any-word search.")] = None,
    file: Annotated[Optional[Path], typer.Option(
        "--file", "-f", parser=named_path("query file"),
        help="Run every query in this file (one marked sentence a line; - for stdin) with one model load.")] = None,
    json_: JsonOption = False,
    csv_: CsvOption = False,
    device: DeviceOption = None,
    sense: SenseOption = None,
    lemma: LemmaOption = False,
    where: WhereOption = None,
) -> None:
    """Find the usages nearest in meaning to the marked word.

    \b
    Example: sensesearch query "We sat on the [[bank]] of the river." --index indexes/demo -k 5

    \b
    Example: sensesearch query --file examples/queries.txt --index indexes/demo --json
    """
    if (text is None) == (file is None):
        fail("give either a TEXT to search for or --file with one query a line", 2)
    if nprobe is not None and not any_word:
        fail("--nprobe applies only with --any-word", 2)
    if text is not None:
        sensesearch.parse_marked(text)
    lines = _query_lines(file) if file is not None else [(0, text or "")]
    with sensesearch.SenseIndex.open(index, read_only=True, device=device) as source:
        if document:
            source.resolve_documents(document)  # the API resolves the names again; here they fail before the model
        options = QueryOptions(k, any_word, document, value(sort), nprobe, sense, lemma, where)
        if file is None:
            options.check(source, lines[0][1])
        # The model the index records may not run here (bf16 without CUDA): one line, not after "loading the model".
        sensesearch.check_precision(source.config.encoder.precision, device, recorded=True)
        with CommandProgress(err, log_lines=False) as progress:
            progress.phase("loading the model")
            source.encoder  # noqa: B018  (loaded under the spinner, not silently inside the first query)
        if file is None:
            hits = options.run(source, lines[0][1])
            print_hits(hits, json_, csv_)
            if sense and not hits:
                note_empty_sense(*sensesearch.sense_of_query(lines[0][1], sense))
            return
        failed = _run_batch(source, options, lines, json_, csv_)
    if failed:
        fail(f"{plural(failed, 'query', 'queries')} of {len(lines):,} failed (see above)")


def _run_batch(source: sensesearch.SenseIndex, options: QueryOptions, lines: list[tuple[int, str]],
               json_: bool, csv_: bool) -> int:
    """Answer each line in turn; a line that fails is reported and the rest still run. Returns the failures."""
    # What one line's text can cause: a bad phrase, a word the index lacks, and with --sense a marked word without
    # senses (or without that sense); it had ended the whole batch, the answers of the lines before lost with --json.
    line_errors = (QueryError, WordNotFoundError, SenseNotFoundError)
    failed = 0
    results: list[dict[str, Any]] = []
    header_written = False
    try:
        for number, line in lines:
            try:
                hits = options.run(source, line)
            except line_errors as exc:
                failed += 1
                err.print(f"Error: line {number}: {exc}")
                results.append({"line": number, "query": line, "error": str(exc), "hits": []})
                continue
            if json_:
                results.append({"line": number, "query": line, "hits": [h.to_dict() for h in hits]})
            elif csv_:
                rows = [{"line": number, "query": line, **row} for row in sensesearch.kwic_rows(hits)]
                table = sensesearch.records_to_csv(rows, ["line", "query", *sensesearch.CSV_FIELDS])
                sys.stdout.write(table.split("\n", 1)[1] if header_written else table)  # one header, first
                header_written = True
            else:
                out.print(f"\n{number}: {line}", style="bold")
                sensesearch.render_kwic(hits, out)
        if json_:
            sys.stdout.write(sensesearch.json_dumps(results, indent=2) + "\n")
    except BrokenPipeError:
        # The reader went away: no failure of its own, but lines that failed before still make the command fail.
        if not failed:
            raise
        reader_gone()
    return failed


@app.command()
@guarded
def usages(
    word: Annotated[str, typer.Argument(
        help="The word or phrase, e.g. bank, don't, \"interest rate\" (case-insensitive).")],
    index: IndexOption = Path(DEFAULT_INDEX),
    limit: Annotated[Optional[int], typer.Option(min=1, help="At most this many usages.")] = None,
    sort: Annotated[UsageSort, typer.Option(  # type: ignore[valid-type]
        help="Order by corpus position, or by the left or right context.")] = "position",  # type: ignore[assignment]
    document: DocumentOption = None,
    json_: JsonOption = False,
    csv_: CsvOption = False,
    sense: SenseOption = None,
    lemma: LemmaOption = False,
    where: WhereOption = None,
) -> None:
    """List the usages of a word as keyword-in-context lines.

    \b
    Example: sensesearch usages bank --index indexes/demo --sort right --limit 20
    """
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        if sense:
            page = source.sense(word).usage_page(sense, limit=limit, documents=document, where=where or (),
                                                 sort=value(sort))
        else:
            page = source.usage_page(word, limit=limit, documents=document, lemma=lemma, where=where or (),
                                     sort=value(sort))
    print_hits(page.hits, json_, csv_)
    if sense and not page.total:
        note_empty_sense(word, sense)
    if not (json_ or csv_):
        note_cut(page, "--limit")


def note_empty_sense(word: str, sense: str) -> None:
    """Say on stderr why a search by a sense printed nothing: no usage is tagged with it (an empty table or [] had
    been all, which reads as a failed search)."""
    err.print(f"no usage of {word!r} is tagged {sense!r} now: `sensesearch sense list {word}` counts each sense's "
              "usages, and `sense config` sets the margin threshold below which usages stay unassigned", markup=False)


def note_cut(page: sensesearch.UsagePage, how: str) -> None:
    """Say on stderr how many usages a limit left out, so a cut list is never taken for all of them."""
    if len(page.hits) < page.total:
        err.print(f"{len(page.hits)} of {plural(page.total, 'usage')} shown ({how} sets how many)", markup=False)
