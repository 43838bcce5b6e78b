"""CLI `sense` sub-commands: define, list, configure and remove a word's named senses; tags and documents by sense."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.text import Text

import sensesearch
from sensesearch import DEFAULT_CLUSTER_EXAMPLES, SENSE_METHODS, UsageError

if TYPE_CHECKING:
    from sensesearch import WordInventory

from .cli import TerminalTable, app, emit_json, err, guarded, out
from .cli_progress import CommandProgress
from .cli_options import (DEFAULT_INDEX, SEED_MAX, CsvOption, IndexOption, JsonOption, WaitOption, check_value,
                          named_path)
from .cli_usage import OneLineUsageGroup

sense_app = typer.Typer(
    help="Named senses of a word, defined by example usages; every usage tagged with its nearest sense.\n\n\b\n"
         'Example: sensesearch sense add bank finance "She paid the cheque into the [[bank]]." --index indexes/demo',
    no_args_is_help=True, cls=OneLineUsageGroup)
app.add_typer(sense_app, name="sense")


def _check_method(method: str | None) -> str | None:
    if method is not None and method not in SENSE_METHODS:
        raise typer.BadParameter(f"{method!r} is not one of {', '.join(SENSE_METHODS)}")
    return method


@sense_app.command("add")
@guarded
def add(
    word: Annotated[str, typer.Argument(help="The word whose sense this is.")],
    name: Annotated[Optional[str], typer.Argument(callback=check_value("check_sense_name"),
                                                  help="The sense's name, e.g. finance (not with --from-file).")] = None,
    examples: Annotated[Optional[list[str]], typer.Argument(
        help='Example sentences with the word marked: "the [[bank]] raised its rates".')] = None,
    from_cluster: Annotated[Optional[int], typer.Option(
        help="Take the most central usages of this induced sense (numbered as `senses` prints them).")] = None,
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1, help="With --from-cluster: the --k given to `senses`.")] = None,
    seed: Annotated[Optional[int], typer.Option(
        min=0, max=SEED_MAX, help="With --from-cluster: the --seed given to `senses` (default 0).")] = None,
    take: Annotated[Optional[int], typer.Option(
        min=1, help=f"With --from-cluster: how many central usages to keep (default {DEFAULT_CLUSTER_EXAMPLES}).")] = None,
    from_file: Annotated[Optional[Path], typer.Option(
        parser=named_path("examples file"),
        help="Labelled examples: SENSE<TAB>marked sentence lines, JSONL {sense, text}, or a CoarseWSD-20 word folder.")] = None,
    index: IndexOption = Path(DEFAULT_INDEX),
    wait: WaitOption = 0,
    json_: JsonOption = False,
) -> None:
    """Add example usages to a named sense of a word (the sense is made if new).

    \b
    Example: sensesearch sense add bank river --from-cluster 2 --index indexes/demo
    """
    given = [examples and "example sentences", from_cluster is not None and "--from-cluster",
             from_file is not None and "--from-file"]
    chosen = [g for g in given if g]
    if len(chosen) != 1:
        raise UsageError("give example sentences, --from-cluster N or --from-file PATH (exactly one of them)")
    if from_file is None and name is None:
        raise UsageError("name the sense, e.g. sensesearch sense add bank finance ...")
    if from_file is not None and name is not None:
        raise UsageError("--from-file takes the sense names from the file; leave out NAME")
    if from_cluster is None and (k, seed, take) != (None, None, None):
        # They had been taken and ignored, as if they had done something.
        raise UsageError("-k, --seed and --take choose the usages of --from-cluster: give --from-cluster N with them")
    with CommandProgress(err) as progress, sensesearch.SenseIndex.open(
            index, lock_timeout=wait, lock_wait=progress.lock_wait(index)) as target:
        senses = target.sense(word)
        known = senses.inventory()
        before = {s.name: len(s.examples) for s in known.senses} if known else {}
        added = senses.add_from_file(from_file) if from_file is not None else {}
        if from_cluster is not None:
            assert name is not None
            senses.add_from_cluster(name, from_cluster, k=k, seed=seed or 0,
                                    limit=DEFAULT_CLUSTER_EXAMPLES if take is None else take)
        elif from_file is None:
            assert name is not None and examples
            senses.add(name, examples)
        found = senses.inventory()
        assert found is not None
        if from_file is None:
            # Counted, not taken from the input: an example the sense already has is not added again.
            # Under the name as stored (trimmed, NFC; or as an older sensesearch stored it): " finance" typed had made
            # "Added to bank: " name nothing.
            assert name is not None
            stored = found.find(name)
            added = {s.name: len(s.examples) - before.get(s.name, 0) for s in found.senses if s.name == stored}
        counts = target.sense(found.word).counts()
    if json_:
        emit_json({**found.to_dict(), "usages": counts})
        return
    err.print(f"Added to {found.word}: " + ", ".join(f"{n!r} (+{c})" for n, c in added.items()), markup=False)
    _print_inventory(found, counts)


@sense_app.command("list")
@guarded
def list_senses(
    word: Annotated[Optional[str], typer.Argument(help="Only this word [default: every word with senses].")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="Show every example sentence.")] = False,
    index: IndexOption = Path(DEFAULT_INDEX),
    json_: JsonOption = False,
) -> None:
    """List the named senses of a word (or of every word) with their examples and usage counts.

    \b
    Example: sensesearch sense list bank --examples --index indexes/demo
    """
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        found = source.sense_words(word)
        counts = {w.word: source.sense(w.word).counts() for w in found}
    if json_:
        emit_json([{**w.to_dict(examples), "usages": counts[w.word]} for w in found])
        return
    if not found:
        err.print("No senses defined yet: sensesearch sense add WORD NAME \"a [[marked]] example\"", markup=False)
    for inventory in found:
        _print_inventory(inventory, counts[inventory.word], examples)


def _print_inventory(inventory: WordInventory, counts: dict[str, int] | None = None, examples: bool = False) -> None:
    how = inventory.method + (f", k={inventory.k}" if inventory.method == "knn" else "")
    forms = f"; forms {', '.join(inventory.forms)}" if len(inventory.forms) > 1 else ""
    out.print(Text.assemble((inventory.word, "bold"), f"  ({how}; margin threshold {inventory.threshold:g}{forms})"))
    table = TerminalTable(show_header=True, header_style="bold", box=None)
    for column in ("sense", "examples", "usages"):
        table.add_column(column, justify="left" if column == "sense" else "right")
    for sense in inventory.senses:
        table.add_row(Text(sense.name), str(len(sense.examples)), str(counts[sense.name]) if counts else "-")
    if counts:
        table.add_row("unassigned", "", str(counts["unassigned"]))
    out.print(table)
    if len(inventory.senses) == 1:
        # With nothing to lead, a usage's margin is its cosine to the one sense: say what that makes of the tags.
        err.print(f"{inventory.word} has one sense: every usage whose cosine to it reaches the threshold "
                  f"({inventory.threshold:g}) is tagged with it; add a second sense to tell usages apart",
                  markup=False)
    if examples:
        for sense in inventory.senses:
            for example in sense.examples:
                text = example.text
                # A usage taken from the index whose document was removed or changed since: the example stays.
                origin = example.source + ("; its usage is no longer indexed" if example.source == "cluster"
                                           and example.occurrence_id is None else "")
                out.print(f"  {sense.name}: {text[:example.start]}[[{text[example.start:example.end]}]]"
                          f"{text[example.end:]}  ({origin})", markup=False)


@sense_app.command("remove")
@guarded
def remove(
    word: Annotated[str, typer.Argument(help="The word.")],
    name: Annotated[Optional[str], typer.Argument(help="The sense to remove [default: every sense of the word].")] = None,
    index: IndexOption = Path(DEFAULT_INDEX),
    wait: WaitOption = 0,
) -> None:
    """Remove one named sense of a word, or all of them.

    \b
    Example: sensesearch sense remove bank river --index indexes/demo
    """
    with CommandProgress(err) as progress, sensesearch.SenseIndex.open(
            index, lock_timeout=wait, lock_wait=progress.lock_wait(index)) as target:
        removed = target.sense(word).remove(name)
    err.print(f"Removed from {word}: {sensesearch.quoted_names(removed)}", markup=False)


@sense_app.command("config")
@guarded
def config(
    word: Annotated[str, typer.Argument(help="The word.")],
    method: Annotated[Optional[str], typer.Option(callback=_check_method,
                                                  help=f"{'|'.join(SENSE_METHODS)}: nearest sense centroid, or vote of k nearest examples.")] = None,
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1, help="Examples that vote with --method knn.")] = None,
    threshold: Annotated[Optional[float], typer.Option(callback=check_value(lambda margin: sensesearch.check_number(
        margin, "the margin threshold", 0.0, 2.0)), help="Usages whose margin is below this (0 to 2) stay unassigned "
                                                        "(centroid: cosine lead, knn: vote-share lead).")] = None,
    index: IndexOption = Path(DEFAULT_INDEX),
    wait: WaitOption = 0,
    json_: JsonOption = False,
) -> None:
    """Set how a word's usages are tagged: method, k and the margin threshold.

    \b
    Example: sensesearch sense config bank --threshold 0.02 --index indexes/demo
    """
    with CommandProgress(err) as progress, sensesearch.SenseIndex.open(
            index, lock_timeout=wait, lock_wait=progress.lock_wait(index)) as target:
        found = target.sense(word).configure(method=method, k=k, threshold=threshold)
        counts = target.sense(found.word).counts()
    if json_:
        emit_json({**found.to_dict(), "usages": counts})
        return
    _print_inventory(found, counts)


@sense_app.command("documents")
@guarded
def documents(
    word_sense: Annotated[str, typer.Argument(help="WORD:SENSE, e.g. bank:finance.")],
    min_count: Annotated[int, typer.Option("--min", min=1, help="Only documents with at least this many usages in the sense.")] = 1,
    index: IndexOption = Path(DEFAULT_INDEX),
    json_: JsonOption = False,
) -> None:
    """Documents where a word is used in a sense, with how many of its usages there are in that sense.

    \b
    Example: sensesearch sense documents bank:finance --min 2 --index indexes/demo
    """
    print_sense_documents(index, word_sense, min_count, json_)


def print_sense_documents(index: Path, word_sense: str, min_count: int, json_: bool) -> None:
    """The documents with at least `min_count` usages of WORD:SENSE, as a table or JSON (`documents --sense` too)."""
    word, sense = sensesearch.parse_word_sense(word_sense)
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        found = source.sense(word).documents(sense, min_count=min_count)
    if json_:
        emit_json([d.to_dict() for d in found])
        return
    if not found:  # a bare header had been the whole answer
        least = "a usage" if min_count == 1 else f"{min_count} usages"
        err.print(f"no document holds {least} of {word!r} tagged {sense!r}", markup=False)
        return
    # Records of one id in two files had been two rows alike; so had "a\nb.txt" and "a b.txt", the table's cells
    # flattening white space: the name is drawn first.
    named = sensesearch.listed_names((doc.document, doc.path) for doc in found)
    table = TerminalTable(show_header=True, header_style="bold", box=None)
    for column in ("document", Text(sense), "all usages"):
        table.add_column(column, justify="left" if column == "document" else "right", whole=column == "document")
    for doc in found:
        table.add_row(named[(doc.document, doc.path)], str(doc.count), str(doc.usages))
    out.print(table)


@sense_app.command("tags")
@guarded
def tags(
    word: Annotated[str, typer.Argument(help="The word whose usages to show with their sense tags.")],
    limit: Annotated[Optional[int], typer.Option(min=1, help="At most this many usages (corpus order).")] = None,
    index: IndexOption = Path(DEFAULT_INDEX),
    json_: JsonOption = False,
    csv_: CsvOption = False,
) -> None:
    """Every usage of a word with its sense tag and margin: the corpus's sense annotation, for export.

    \b
    Example: sensesearch sense tags bank --csv --index indexes/demo > bank-senses.csv
    """
    with sensesearch.SenseIndex.open(index, read_only=True) as source:
        found = source.sense(word).tagged(limit)
    # A tagged usage has a margin, not a score: the always-empty score column stays out.
    rows = [{"sense": sense, "margin": round(margin, 6), **{f: row[f] for f in sensesearch.LISTING_FIELDS}}
            for row, (_, sense, margin) in zip(sensesearch.kwic_rows([hit for hit, _, _ in found]), found)]
    if json_:
        emit_json(rows)
    elif csv_:
        sys.stdout.write(sensesearch.records_to_csv(rows, ["sense", "margin", *sensesearch.LISTING_FIELDS]))
    else:
        from rich.cells import cell_len

        table = TerminalTable(show_header=True, header_style="bold", box=None)
        widest = max([len(r["sense"] or "unassigned") for r in rows] + [5])
        # Sense, margin and word never shrink; contexts and the document give way on a narrow terminal.
        table.add_column("sense", no_wrap=True, min_width=widest)
        table.add_column("margin", justify="right", no_wrap=True, min_width=6)
        word_width = max([len(r["word"]) for r in rows] + [4])
        # What the fixed columns leave is shared by the two contexts, as kwic.render_kwic does.
        context = max(8, (out.width - widest - word_width - 6 - 16 - 12) // 2)
        table.add_column("left", justify="right", no_wrap=True, max_width=context)
        table.add_column("word", no_wrap=True, min_width=word_width)
        table.add_column("right", no_wrap=True, max_width=context)
        table.add_column("document", no_wrap=True)
        # Named as the KWIC lines name documents: "a/same.txt" and "b/same.txt" had both been "same.txt", and names
        # alike in their first 16 cells one name.
        names = sensesearch.document_names([hit for hit, _, _ in found])
        names = sensesearch.fit_apart(names, min(16, max((cell_len(name) for name in names.values()), default=8)))
        for row, (hit, _, _) in zip(rows, found):
            left, right = row["left"], row["right"]
            # Contexts are cut at their far end, so the words next to the keyword always show.
            left, right = sensesearch.fit_left(left, context), sensesearch.fit_right(right, context, ellipsis=True)
            table.add_row(Text(row["sense"] or "unassigned"), f"{row['margin']:.3f}", Text(left), Text(row["word"]),
                          Text(right), Text(names[(hit.document, hit.path)].rstrip()))
        out.print(table)
