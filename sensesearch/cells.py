"""Text fitted to a number of terminal cells: cut between grapheme clusters, padded to exactly that width.

Wide CJK and emoji count two cells, combining and zero-width characters none (rich's cell_len). Its own module, not
part of kwic.py: the KWIC lines and the sense tables fit text so, and fit_apart keeps a column's names apart as it
fits them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

import regex
from rich.cells import cell_len

_CLUSTER = regex.compile(r"\X", regex.DOTALL)
Key = TypeVar("Key", bound=Hashable)


def fit_left(text: str, cells: int) -> str:
    """The end of `text` that fits in `cells` terminal cells, padded on the left to exactly that width."""
    kept, used = _take(reversed(_CLUSTER.findall(text)), cells)
    return " " * (cells - used) + "".join(reversed(kept))


def fit_right(text: str, cells: int, ellipsis: bool = False) -> str:
    """The start of `text` that fits in `cells` terminal cells (with "…" if cut and asked), padded on the right."""
    mark = "\u2026" if ellipsis and cell_len(text) > cells else ""
    kept, used = _take(_CLUSTER.findall(text), cells - len(mark))
    return "".join(kept) + mark + " " * (cells - used - len(mark))


def _fit_tail(text: str, cells: int) -> str:
    """`text` padded on the right to `cells`, or "…" and its end when it is wider: the end of a document name (the
    folder nearest the file, the file) is what tells two documents apart."""
    if cell_len(text) <= cells:
        return text + " " * (cells - cell_len(text))
    kept, used = _take(reversed(_CLUSTER.findall(text)), cells - 1)
    return "\u2026" + "".join(reversed(kept)) + " " * (cells - 1 - used)


def fit_apart(names: dict[Key, str], cells: int) -> dict[Key, str]:
    """Each of `names` (a document's key -> its name) fitted to `cells` terminal cells as _fit_tail fits it, except names that would
    then read alike while they differ: those show the part around where each differs from the others, "…" on either
    side cut off. Two record ids of 52 characters, the same but for the year in their middle, had both been shown as
    the same 24-cell end."""
    fitted = {label: _fit_tail(name, cells) for label, name in names.items()}
    alike: dict[str, list[Key]] = {}
    for label, text in fitted.items():
        alike.setdefault(text, []).append(label)
    for group in alike.values():
        spelled = {label: _CLUSTER.findall(names[label]) for label in group}
        for label, clusters in spelled.items():
            others = [other for other in spelled.values() if other != clusters]
            if others:
                fitted[label] = _fit_around(clusters, max(_shared_start(clusters, other) for other in others), cells)
    return fitted


def _shared_start(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading grapheme clusters `a` and `b` have in common."""
    same = 0
    while same < min(len(a), len(b)) and a[same] == b[same]:
        same += 1
    return same


def _fit_around(clusters: Sequence[str], at: int, cells: int) -> str:
    """The clusters around index `at`, about half the room before it, in exactly `cells` cells: "…" marks a cut."""
    at = min(at, len(clusters) - 1)
    start, before = at, 0
    while start > 0 and before + cell_len(clusters[start - 1]) <= (cells - 2) // 2:
        start -= 1
        before += cell_len(clusters[start])
    lead = "\u2026" if start > 0 else ""
    kept, used = _take(clusters[start:], cells - len(lead))
    trail = ""
    if start + len(kept) < len(clusters):
        kept, used = _take(clusters[start:], cells - len(lead) - 1)
        trail = "\u2026"
    return lead + "".join(kept) + trail + " " * (cells - len(lead) - len(trail) - used)


def _take(clusters: Iterable[str], cells: int) -> tuple[list[str], int]:
    """Leading grapheme clusters of `clusters` whose widths add up to at most `cells`, and that width."""
    kept: list[str] = []
    used = 0
    for cluster in clusters:
        width = cell_len(cluster)
        if used + width > cells:
            break
        kept.append(cluster)
        used += width
    return kept, used
