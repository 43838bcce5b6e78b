"""Senses across time (or any metadata field): the share of each induced sense per bin, and its chart.

The senses are induced once over all of a word's usages (sensesearch.senses); each usage is then
counted in the bin of its document's field value, so a sense's share can rise and fall across
bins while its meaning stays one cluster. This is the "sense frequency over time" view of
diachronic sense-change studies (e.g. Giulianelli et al. 2020, "Analysing lexical semantic change
with contextualised word representations", ACL), which concordancers do not offer.

`by` is `year` (the field `year`, else the year a `date` starts with, never a day), `decade` (the same,
in bins of ten), `document` (one bin per document) or any metadata field. Numeric fields are
binned: one bin per value when there are few values, else equal-width bins of a round width
(or `bin_width`); empty bins in between are kept, so gaps in the record stay visible. Text
fields get one bin per value. Making the bins is bins.py's.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select

from .bins import make_bins
from .chartfonts import chart_fonts, save_png
from .errors import QueryError
from .conditions import meta_name
from .filters import known_fields
from .kwic import names_apart
from .schema import ID_BATCH, documents, occurrences, sentences

if TYPE_CHECKING:
    from . import SenseIndex
    from .senses import SenseReport

_YEAR = re.compile(r"^\s*(-?\d{4})(?!\d)|^\s*(-?\d{1,3})(?:-\d{2}(?:-\d{2}(?:[T ].*)?)?|s|\.\d*)?\s*$")
"""The year a value starts with: four digits, whatever follows (1945-01-21, 1850s, 1850?, 1945/01/21), or fewer
(-44, 800s) alone or as an ISO date. Not the day of a date written day first: "21/01/1945" and "21 January 1945"
had been counted in the year 21."""


@dataclass(frozen=True)
class SenseBin:
    """One bin: its label and numeric range [start, end) (None for text values), usages per sense."""

    label: str
    start: float | None
    end: float | None
    usages: int
    counts: tuple[int, ...]

    @property
    def shares(self) -> tuple[float | None, ...]:
        """Each sense's share of the bin's usages (0..1); None for every sense of an empty bin."""
        return tuple(c / self.usages if self.usages else None for c in self.counts)


@dataclass(frozen=True)
class SenseTimeline:
    """Sense shares of one word per bin of a field; `senses[i]` is the sense counted in `counts[i]`."""

    word: str
    by: str
    senses: tuple[int, ...]
    keywords: tuple[tuple[str, ...], ...]
    bins: tuple[SenseBin, ...]
    missing: int
    bin_width: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "by": self.by, "bin_width": self.bin_width, "missing": self.missing,
                "senses": [{"sense": s, "keywords": list(k)} for s, k in zip(self.senses, self.keywords)],
                "bins": [{"label": b.label, "start": b.start, "end": b.end, "usages": b.usages,
                          "counts": {str(s): c for s, c in zip(self.senses, b.counts)},
                          "shares": {str(s): None if v is None else round(v, 4) for s, v in zip(self.senses, b.shares)}}
                         for b in self.bins]}

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per bin (for CSV): label, range, usages, then usages and share of each sense."""
        out = []
        for b in self.bins:
            row: dict[str, Any] = {"bin": b.label, "start": b.start, "end": b.end, "usages": b.usages}
            for sense, count, share in zip(self.senses, b.counts, b.shares):
                row[f"sense_{sense}_usages"] = count
                row[f"sense_{sense}_share"] = "" if share is None else round(share, 4)
            out.append(row)
        return out


def field_value(meta: dict[str, Any], label: str, by: str, path: str = "") -> Any:
    """The value a document contributes to `by` (None when it has none): its label for "document", the file it came
    from for "path" (as --where reads them; meta.path and meta.document reach metadata fields of those names)."""
    if by == "document":
        return label
    if by == "path":
        return path or None
    if by in ("year", "decade"):
        for key in ("year", "date"):
            value = meta.get(key)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, (int, float)):
                return int(value)
            found = _YEAR.match(str(value))
            if found:
                return int(found.group(1) or found.group(2))
        return None
    value = meta.get(meta_name(by))
    return None if isinstance(value, (dict, list)) else value


def usage_values(index: SenseIndex, occurrence_ids: Sequence[int], by: str) -> dict[int, Any]:
    """Occurrence id -> its document's value for `by`, read in batches of ids (never the whole table)."""
    query = (select(occurrences.c.id, documents.c.meta, documents.c.label, documents.c.path)
             .join(sentences, sentences.c.id == occurrences.c.sentence_id)
             .join(documents, documents.c.id == sentences.c.document_id))
    found: dict[int, Any] = {}
    documents_of: dict[int, tuple[str, str]] = {}
    with index.store.engine.connect() as conn:
        for first in range(0, len(occurrence_ids), ID_BATCH):
            batch = [int(i) for i in occurrence_ids[first:first + ID_BATCH]]
            for oid, meta, label, path in conn.execute(query.where(occurrences.c.id.in_(batch))):
                if isinstance(meta, str):
                    meta = json.loads(meta or "{}")
                found[int(oid)] = field_value(meta or {}, label, by, path)
                documents_of[int(oid)] = (label, path)
    if by == "document":
        # One bin a document: a label several files' documents share (a record id) is told apart by its file.
        named = names_apart(documents_of.values())
        found = {oid: named[document] for oid, document in documents_of.items()}
    return found


def _by_hint(by: str, fields: Sequence[str], nested: bool = False) -> str:
    """What to say after "no usage comes from a document with a value for BY": where year and decade come from, the
    fields there are when no document has BY (a misspelt `--by yaer` said only how to give documents fields), that
    lists and objects are not binned when BY holds such (`nested`: `--by tags` said only how to give documents
    fields), and how to give them."""
    hint = " (the field year, or a date field)" if by in ("year", "decade") else ""
    if nested:
        return hint + f"; {by!r} holds lists or objects, and only numbers, texts and true or false are binned"
    if fields and (hint or meta_name(by) not in fields):
        hint += "; " + known_fields(fields)
    return hint + "; JSONL fields and metadata.csv sidecars give documents fields"


def sense_timeline(index: SenseIndex, report: SenseReport, by: str, bin_width: float | None = None) -> SenseTimeline:
    """Usages and share of each of `report`'s senses per bin of `by`; QueryError when no usage has a value."""
    ids = [a.occurrence_id for a in report.assignments]
    values_of = usage_values(index, ids, by)
    values = [values_of.get(i) for i in ids]
    if all(v is None or v == "" for v in values):
        nested = by not in ("year", "decade", "document", "path") and bool(index.store.nested_fields([meta_name(by)]))
        raise QueryError(f"no usage of {report.word!r} comes from a document with a value for {by!r}"
                         f"{_by_hint(by, index.store.metadata_fields(), nested)}")
    bins, where, width = make_bins(values, by, bin_width)
    senses = tuple(g.sense for g in report.senses)
    column = {s: i for i, s in enumerate(senses)}
    tally: Counter[tuple[int, int]] = Counter()
    for assignment, b in zip(report.assignments, where):
        if b is not None:
            tally[(b, column[assignment.sense])] += 1
    out = []
    for b, (label, start, end) in enumerate(bins):
        counts = tuple(tally[(b, c)] for c in range(len(senses)))
        out.append(SenseBin(label=label, start=start, end=end, usages=sum(counts), counts=counts))
    return SenseTimeline(word=report.word, by=by, senses=senses, keywords=tuple(g.keywords for g in report.senses),
                         bins=tuple(out), missing=sum(1 for b in where if b is None), bin_width=width)


def plot_timeline(timeline: SenseTimeline, target: str | Path | BinaryIO, kind: str = "area") -> None:
    """Write a PNG: each sense's share per bin (stacked area, or stacked bars), usages per bin below.

    Empty bins are left out of the area (it joins their neighbours) and drawn empty as bars.
    Raises QueryError for an unknown `kind`.
    """
    if kind not in ("area", "bars"):
        raise QueryError(f"the chart kind is area or bars, not {kind!r}")
    from matplotlib.figure import Figure

    numeric = timeline.bins and timeline.bins[0].start is not None
    if not numeric or sum(1 for b in timeline.bins if b.usages) < 2:
        kind = "bars"  # an area needs two bins with usages: over one (a single year, say) it had no width, an empty chart
    with chart_fonts():
        figure = Figure(figsize=(10, 6.5), dpi=110, layout="constrained")
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        positions = list(range(len(timeline.bins)))
        labels = [b.label for b in timeline.bins]
        palette = [f"C{i}" for i in range(10)]
        colours = [palette[(s - 1) % len(palette)] for s in timeline.senses]
        names = [f"{s}: {', '.join(k[:4]) or '(no keywords)'}" for s, k in zip(timeline.senses, timeline.keywords)]
        if kind == "area":
            kept = [i for i, b in enumerate(timeline.bins) if b.usages]
            layers = [[100 * (timeline.bins[i].shares[j] or 0.0) for i in kept] for j in range(len(timeline.senses))]
            top.stackplot(kept, layers, labels=names, colors=colours, alpha=0.85)
        else:
            base = [0.0] * len(positions)
            for j, (name, colour) in enumerate(zip(names, colours)):
                heights = [100 * (b.shares[j] or 0.0) for b in timeline.bins]
                top.bar(positions, heights, bottom=base, color=colour, label=name, width=0.85)
                base = [a + h for a, h in zip(base, heights)]
        top.set_ylim(0, 100)
        top.set_ylabel("share of usages (%)")
        top.set_title(f"Senses of “{timeline.word}” by {timeline.by}: "
                      f"{sum(b.usages for b in timeline.bins):,} usages in {len(timeline.bins)} "
                      f"{'bin' if len(timeline.bins) == 1 else 'bins'}")
        top.legend(title="sense: keywords", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title_fontsize=9)
        bottom.bar(positions, [b.usages for b in timeline.bins], color="0.55", width=0.85)
        bottom.set_ylabel("usages")
        step = max(1, len(labels) // 20)
        bottom.set_xticks(positions[::step], labels[::step], rotation=60 if len(labels) > 8 else 0, fontsize=8)
        save_png(figure, target)
