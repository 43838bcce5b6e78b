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
    """Each of `names` (a document's key -> its name) fitted to `cells` terminal cells as _fit_tail fits it, except names
    that would then read alike while they differ: those show the parts around the places where any two of them part
    (_fit_parted), "…" for each part cut off. Two record ids of 52 characters, the same but for the year in their
    middle, had both been shown as the same 24-cell end; and where three names parted at three places, each had shown
    the part around its own place, so two of them could show the same 24 cells ("…0000010000…" of a 1 in the middle
    and of a 1 further on). A group whose fitted names still meet another's is fitted again together with it."""
    groups = list(_alike({label: _fit_tail(name, cells) for label, name in names.items()}).values())
    fitted = {label: text for group in groups for label, text in _fit_parted(group, names, cells).items()}
    while True:
        group_of = {label: i for i, group in enumerate(groups) for label in group}
        meeting = [{group_of[label] for label in labels} for labels in _alike(fitted).values()
                   if len({names[label] for label in labels}) > 1]
        merged = next((ids for ids in meeting if len(ids) > 1), None)
        if merged is None:
            return fitted
        union = [label for i in sorted(merged) for label in groups[i]]
        groups = [group for i, group in enumerate(groups) if i not in merged] + [union]
        fitted.update(_fit_parted(union, names, cells))


def _alike(fitted: dict[Key, str]) -> dict[str, list[Key]]:
    alike: dict[str, list[Key]] = {}
    for label, text in fitted.items():
        alike.setdefault(text, []).append(label)
    return alike


def _fit_parted(group: Sequence[Key], names: dict[Key, str], cells: int) -> dict[Key, str]:
    """The names of `group` fitted to `cells`: each as _fit_tail fits it if they are one name, else at every place where
    two of them part (_fit_points), or where that does not fit, around the last place where each parts from another."""
    spelled = {label: _CLUSTER.findall(names[label]) for label in group}
    distinct = sorted({tuple(clusters) for clusters in spelled.values()})
    if len(distinct) < 2:
        return {label: _fit_tail(names[label], cells) for label in group}
    # Where sorted names part from their neighbours is every place where any two of them part.
    points = sorted({_shared_start(a, b) for a, b in zip(distinct, distinct[1:])})
    return {label: _fit_points(clusters, points, cells) or _fit_around(
        clusters, max(_shared_start(clusters, other) for other in distinct if list(other) != clusters), cells)
        for label, clusters in spelled.items()}


def _shared_start(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading grapheme clusters `a` and `b` have in common."""
    same = 0
    while same < min(len(a), len(b)) and a[same] == b[same]:
        same += 1
    return same


def _fit_points(clusters: Sequence[str], points: Sequence[int], cells: int) -> str | None:
    """The clusters at each of `points` (indices, ascending) and around them in exactly `cells` cells, "…" for each run
    cut out; None where the points alone do not fit. Every name of a group is shown at the same points, so two that
    part at one of them show the same text up to it, then each its own cluster there. One window when the first
    point's (_fit_around) reaches the last."""
    if not clusters:
        return None
    at = sorted({min(point, len(clusters) - 1) for point in points})
    start, kept, _, _ = _window(clusters, at[0], cells)
    if start + len(kept) > at[-1]:
        return _fit_around(clusters, at[0], cells)
    before = [0]
    for cluster in clusters:
        before.append(before[-1] + cell_len(cluster))
    spans = [[point, point] for point in at]
    if _cost(spans, before) > cells:
        return None
    grown = True
    while grown:  # each span by one cluster a side in turn, so each point keeps about as much on either side
        grown = False
        for span in spans:
            for side, step in ((0, -1), (1, 1)):
                span[side] += step
                if 0 <= span[side] < len(clusters) and _cost(spans, before) <= cells:
                    grown = True
                else:
                    span[side] -= step
        spans = [list(run) for run in _runs(spans)]  # spans that met grow as one
    runs = _runs(spans)
    text = "".join("\u2026" * cut + "".join(clusters[start:end + 1]) for cut, (start, end) in zip(_cuts(runs), runs))
    return text + "\u2026" * (runs[-1][1] < len(clusters) - 1) + " " * (cells - _cost(spans, before))


def _runs(spans: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """The runs of clusters `spans` (inclusive index pairs, ascending starts) cover, overlapping ones as one."""
    runs: list[tuple[int, int]] = []
    for start, end in spans:
        if runs and start <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _cuts(runs: Sequence[tuple[int, int]]) -> list[bool]:
    """Whether clusters were left out before each of `runs` (ascending, apart), so that a "…" comes first."""
    return [start > 0 and (i == 0 or start > runs[i - 1][1] + 1) for i, (start, _) in enumerate(runs)]


def _cost(spans: Sequence[Sequence[int]], before: Sequence[int]) -> int:
    """Cells of the clusters `spans` cover (`before`: cells before each cluster, and in all last), and one "…" for each
    run of clusters left out."""
    runs = _runs(spans)
    cut_end = runs[-1][1] < len(before) - 2
    return sum(before[end + 1] - before[start] for start, end in runs) + sum(_cuts(runs)) + int(cut_end)


def _window(clusters: Sequence[str], at: int, cells: int) -> tuple[int, list[str], int, bool]:
    """The clusters around index `at` that fit in `cells` cells with about half the room before it: the first one's
    index, the clusters, their cells, and whether more follow them (a "…" then ends the window, its cell kept)."""
    at = min(at, len(clusters) - 1)
    start, before = at, 0
    while start > 0 and before + cell_len(clusters[start - 1]) <= (cells - 2) // 2:
        start -= 1
        before += cell_len(clusters[start])
    lead = int(start > 0)
    kept, used = _take(clusters[start:], cells - lead)
    if start + len(kept) == len(clusters):
        return start, kept, used, False
    kept, used = _take(clusters[start:], cells - lead - 1)
    return start, kept, used, True


def _fit_around(clusters: Sequence[str], at: int, cells: int) -> str:
    """The clusters around index `at`, about half the room before it, in exactly `cells` cells: "…" marks a cut."""
    start, kept, used, cut_end = _window(clusters, at, cells)
    lead = "\u2026" if start > 0 else ""
    trail = "\u2026" if cut_end else ""
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
