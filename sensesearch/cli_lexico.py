"""CLI pieces for lexicographers: the --lemma and --where options, and the senses-by-field table.

Shared by `usages`, `query` and `senses`; conditions are checked when the options are read, so
a malformed one is a usage error (exit 2) before any index or model is opened.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

import sensesearch
from sensesearch import QueryError, records_to_csv

from .cli import TerminalTable, err, plural
from .cli_options import check_value


if TYPE_CHECKING:
    from sensesearch import SenseTimeline


def _check_where(values: Optional[list[str]]) -> Optional[list[str]]:
    """Read the conditions as every surface does (parse_conditions: `;` parts them), so a malformed one is exit 2."""
    try:
        sensesearch.parse_conditions(values)
    except QueryError as exc:
        raise typer.BadParameter(str(exc)) from None
    return values


LemmaOption = Annotated[bool, typer.Option(
    "--lemma", help="Count every form of the word's lemma as the same word (bank: bank, banks, banked).")]
WhereOption = Annotated[Optional[list[str]], typer.Option(
    "--where", "-w", callback=_check_where,
    help="Only documents meeting FIELD OP VALUE (OP: = != < <= > >=; numbers, ISO dates, * globs, a|b), "
         "on metadata fields, path or document; repeatable, all must hold, and ; parts conditions in one "
         "(\\; is a semicolon in a value; a field in double quotes is that key exactly). E.g. "
         "--where 'year>=1900; party=Democratic' --where 'path=corpora/state_union/19*'.")]
ByOption = Annotated[Optional[str], typer.Option(
    "--by", callback=check_value("check_by_field"),
    help="Share of each sense per bin of year, decade, document, path or a metadata field (numbers binned).")]
BinWidthOption = Annotated[Optional[float], typer.Option(
    "--bin-width", callback=check_value("check_bin_width"), help="Width of the bins of a numeric --by field (default: 1 for year, 10 for decade, "
                               "else a round width giving about 10 bins; wider where that would make over 1,000).")]
ChartOption = Annotated[Optional[str], typer.Option(
    "--chart", help="With --by and --plot: area (stacked shares, the default) or bars (stacked bars).")]


def timeline_csv(timeline: SenseTimeline) -> str:
    """The timeline as CSV: one row per bin, usages and share of each sense (cells neutralised)."""
    rows = timeline.rows()
    return records_to_csv(rows, list(rows[0]) if rows else ["bin"])


def print_timeline(timeline: SenseTimeline, console: Console, csv_: bool) -> None:
    """A table of bins (rows) by senses (columns: share, with usages), or CSV on stdout."""
    if csv_:
        sys.stdout.write(timeline_csv(timeline))
        # Said beside the CSV, not in it: the table and --json say it, and a spreadsheet's bins left it out silently.
        if timeline.missing:
            err.print(_missing_note(timeline))
        return
    for sense, keywords in zip(timeline.senses, timeline.keywords):
        console.print(f"[bold]sense {sense}[/]: {', '.join(keywords) or '-'}", markup=True)
    table = TerminalTable(show_header=True, header_style="bold", box=None)
    table.add_column(timeline.by, spelled=True)
    table.add_column("usages", justify="right")
    for sense in timeline.senses:
        table.add_column(f"sense {sense}", justify="right")
    # A run of empty bins is one row ("1790 – 1796"): the gap stays visible without 200 empty years of table.
    # Labels are drawn as names (a document's, a field's value), every space kept (`spelled`): the table's cells
    # flattened white space, and the bins of "a\nb.txt" and "a b.txt" had been two rows alike, "a  b" shown as "a b";
    # so had those of a composed and a decomposed "\u00c5".
    name = sensesearch.terminal_names(b.label for b in timeline.bins)
    for run in _runs_of_empty(timeline.bins):
        first, last = run[0], run[-1]
        cells = ["-" if share is None else f"{100 * share:.0f}% ({count})"
                 for count, share in zip(first.counts, first.shares)]
        table.add_row(name[first.label] if len(run) == 1 else f"{name[first.label]} – {name[last.label]}",
                      str(first.usages), *cells)
    console.print(table)
    if timeline.missing:
        console.print(_missing_note(timeline))


def _missing_note(timeline: SenseTimeline) -> str:
    comes = "comes" if timeline.missing == 1 else "come"
    return f"{plural(timeline.missing, 'usage')} {comes} from documents without a value for {timeline.by}."


def _runs_of_empty(bins: Sequence[Any]) -> list[list[Any]]:
    """Each bin (a SenseTimeline's) with usages alone, and each run of consecutive empty bins together."""
    runs: list[list[Any]] = []
    for b in bins:
        if not b.usages and runs and not runs[-1][-1].usages:
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs
