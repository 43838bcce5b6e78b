"""Keyword-in-context output: aligned lines for people, CSV and JSON rows for programs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import jsonsafe
from .csvsafe import records_to_csv
from .records import Hit

_SPACE = re.compile(r"\s+")
CSV_FIELDS = ("score", "document", "left", "word", "right", "sentence", "start", "end", "occurrence_id")


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text)


def sort_hits(hits: Sequence[Hit], by: str | None) -> list[Hit]:
    """Order hits by score (as given), by the words left of the keyword (nearest first), or right of it."""
    if by in (None, "score"):
        return list(hits)
    if by == "left":
        return sorted(hits, key=lambda h: [w.casefold() for w in reversed(_flat(h.left).split())])
    if by == "right":
        return sorted(hits, key=lambda h: [w.casefold() for w in _flat(h.right).split()])
    raise ValueError(f"sort must be score, left or right, not {by!r}")


def kwic_rows(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    return [{"score": h.score, "document": h.document, "left": _flat(h.left).strip(), "word": h.word,
             "right": _flat(h.right).strip(), "sentence": h.sentence, "start": h.start, "end": h.end,
             "occurrence_id": h.occurrence_id} for h in hits]


def to_csv(hits: Sequence[Hit]) -> str:
    """KWIC rows as CSV, cells that would start a spreadsheet formula neutralised (see csvsafe)."""
    return records_to_csv(kwic_rows(hits), CSV_FIELDS)


def to_json(hits: Sequence[Hit]) -> str:
    """Hits as strict JSON (a non-finite score or metadata number is null)."""
    return jsonsafe.dumps([h.to_dict() for h in hits], indent=2)


def render_kwic(hits: Sequence[Hit], console: Console, context: int | None = None) -> None:
    """Print one line per hit: score, left context right-aligned, keyword, right context, document."""
    width = console.width or 120
    context = context or max(20, (width - 40) // 2)
    show_score = any(h.score is not None for h in hits)
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, expand=False)
    if show_score:
        table.add_column("score", justify="right", no_wrap=True)
    table.add_column("left", justify="right", no_wrap=True, overflow="crop", max_width=context)
    table.add_column("word", no_wrap=True, style="bold cyan")
    table.add_column("right", no_wrap=True, overflow="crop", max_width=context)
    table.add_column("document", no_wrap=True, style="dim", overflow="ellipsis", max_width=24)
    for hit in hits:
        left = _flat(hit.left)
        left = left[-context:] if len(left) > context else left
        right = _flat(hit.right)[:context]
        cells = [Text(left), Text(hit.word), Text(right), Text(_short(hit.document))]
        if show_score:
            cells.insert(0, Text(f"{hit.score:.3f}"))
        table.add_row(*cells)
    console.print(table)


def _short(document: str) -> str:
    return document.rsplit("/", 1)[-1]
