"""Keyword-in-context output: aligned lines for people, CSV and JSON rows for programs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from . import jsonsafe
from .cells import fit_apart, fit_left, fit_right
from .csvsafe import records_to_csv
from .records import Hit
from .terminal import flat as _flat
from .terminal import named_apart, shown

CSV_FIELDS = ("score", "document", "left", "word", "right", "sentence", "start", "end", "occurrence_id", "path")
"""The columns of `usages --csv`; `path` (the file a usage came from) last, so the others keep their places: records
of one id in two JSON Lines files had been rows alike."""
LISTING_FIELDS = CSV_FIELDS[1:]
"""The columns of a usage that has no score (sense tags, sense groups): those of `usages --csv` but the score."""


def context_cells(sentence: str, start: int, end: int) -> dict[str, str]:
    """The left context, the word and the right context of the span [start, end) of `sentence` (code points), as
    KWIC rows give them: each context on one line, trimmed."""
    return {"left": _flat(sentence[:start]).strip(), "word": sentence[start:end],
            "right": _flat(sentence[end:]).strip()}


def kwic_rows(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    return [{"score": h.score, "document": h.document, "left": _flat(h.left).strip(), "word": h.word,
             "right": _flat(h.right).strip(), "sentence": h.sentence, "start": h.start, "end": h.end,
             "occurrence_id": h.occurrence_id, "path": h.path} for h in hits]


def with_names(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """Each hit as `Hit.to_dict` gives it, and `document_name`: its document's name in a KWIC listing of these hits
    (document_names), for a front end that draws its own listing. The page had shown each path's last part, so
    x/same.txt and y/same.txt, and the records r1 of two JSON Lines files, read as one document."""
    names = document_names(hits)
    return [{**h.to_dict(), "document_name": names[(h.document, h.path)]} for h in hits]


def to_csv(hits: Sequence[Hit]) -> str:
    """KWIC rows as CSV, cells that would start a spreadsheet formula neutralised (see csvsafe)."""
    return records_to_csv(kwic_rows(hits), CSV_FIELDS)


def to_json(hits: Sequence[Hit]) -> str:
    """Hits as strict JSON (a non-finite score or metadata number is null)."""
    return jsonsafe.dumps([h.to_dict() for h in hits], indent=2)


def render_kwic(hits: Sequence[Hit], console: Console, context: int | None = None) -> None:
    """Print one line per hit: score, left context, keyword, right context, document, aligned on the keyword.

    Columns are measured in terminal cells (wide CJK and emoji count two, combining and zero-width
    characters none) and cut between grapheme clusters, always keeping the text nearest the keyword.
    `context`: cells per context column (default: what the console width leaves, at least 10).
    """
    if not hits:
        return
    show_score = any(h.score is not None for h in hits)
    word_cells = max(4, *(cell_len(shown(h.word)) for h in hits))
    names = document_names(hits)
    doc_cells = min(24, max(8, *(cell_len(name) for name in names.values())))
    # Wide enough for a negative cosine: "-0.108" had been cut to "0.108" (its end kept, as for a left context).
    score_cells = max(6, *(len(f"{h.score:.3f}") + 1 for h in hits if h.score is not None)) if show_score else 0
    if context is None:
        context, doc_cells = _narrowed(console.width or 120, score_cells + word_cells + 3, doc_cells)
    fitted = fit_apart(names, doc_cells)
    header = Text(style="dim")
    if show_score:
        header.append(fit_left("score", score_cells - 1) + " ")
    header.append(fit_left("left", context) + " " + fit_right("word", word_cells) + " "
                  + fit_right("right", context) + " document")
    console.print(header, no_wrap=True, crop=True, soft_wrap=False)
    for hit in hits:
        line = Text()
        if show_score:
            line.append(fit_left(f"{hit.score:.3f}", score_cells - 1) + " ")
        line.append(fit_left(shown(hit.left), context) + " ")
        line.append(fit_right(shown(hit.word), word_cells), style="bold cyan")
        line.append(" " + fit_right(shown(hit.right), context) + " ")
        line.append(fitted[(hit.document, hit.path)].rstrip(), style="dim")  # the line's end: no padding for a pipe to carry
        console.print(line, no_wrap=True, crop=True, soft_wrap=False)


MIN_CONTEXT, NARROW_CONTEXT, NARROW_DOCUMENT = 10, 4, 8
"""Cells of a context column (at least), then what a narrow console may take them and the document column down to."""


def _narrowed(width: int, fixed: int, doc_cells: int) -> tuple[int, int]:
    """(context, document) cells of a line `width` wide beside `fixed` cells of score, word and spaces. Where the
    contexts' least would not fit, the document column gives way first (its end stays, _fit_tail), then the contexts:
    at 40 columns the console had cropped the line's end, the document name's own end ("bank_lines.tx")."""
    room = width - fixed - 1
    context = max(MIN_CONTEXT, (room - doc_cells) // 2)
    if 2 * context + doc_cells > room:
        doc_cells = max(NARROW_DOCUMENT, room - 2 * context)
        context = max(NARROW_CONTEXT, min(context, (room - doc_cells) // 2))
    return context, doc_cells


def document_names(hits: Sequence[Hit]) -> dict[tuple[str, str], str]:
    """(label, path) of each hit's document -> its name in a document column: names_apart, then short_names (a JSON
    Lines record, known by the hit's file, keeps its whole id), drawn and spelled apart by terminal.named_apart (a line
    break as ␊: drawn by terminal.shown, "a\nb.txt" and "a b.txt" had read alike; a decomposed "A\u030a.txt" beside
    "\u00c5.txt" as its escapes); fit_apart then fits the names to the column."""
    apart = names_apart((h.document, h.path) for h in hits)
    records = {apart[(h.document, h.path)] for h in hits if h.path and not h.document.startswith(h.path)}
    short = short_names(apart.values(), records)
    shown_as = named_apart(short.values())
    return {key: shown_as[short[name]] for key, name in apart.items()}


def listed_names(documents: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(label, path) -> the document's name in a listing of one document a line (`remove`, `sense documents`, the
    shell's :documents): names_apart, drawn and spelled apart by terminal.named_apart. Drawn one by one, a composed
    and a decomposed "\u00c5.txt" had been listed as one name twice."""
    apart = names_apart(documents)
    shown_as = named_apart(apart.values())
    return {key: shown_as[name] for key, name in apart.items()}


def names_apart(documents: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(label, path) -> the label, or where documents of several files share it (record ids such as "r1" in two JSON
    Lines files) "FILE#label", FILE the fewest last parts of its path that tell those files apart (short_names): both
    had been one "r1", one line of a KWIC listing and one bin of `senses --by document`."""
    paths_of: dict[str, set[str]] = {}
    for label, path in documents:
        paths_of.setdefault(label, set()).add(path)
    named: dict[tuple[str, str], str] = {}
    for label, paths in paths_of.items():
        files = short_names(paths) if len(paths) > 1 else {}
        for path in paths:
            named[(label, path)] = f"{files[path]}#{label}" if path in files else label
    return named


def short_names(labels: Iterable[str], records: Collection[str] = ()) -> dict[str, str]:
    """Each document label as the fewest of its last path parts that no other of `labels` ends with, so the
    document column tells apart a/same.txt and b/same.txt. A JSON Lines record's id (`records`; or a label's "#id"
    after ".jsonl") stays whole: it is no path, and ids may hold "/" ("news/2020/01" had been shown as "2020/01")."""
    parts: dict[str, list[str]] = {}
    for label in set(labels):
        if label in records:
            parts[label] = [label]
            continue
        file, mark, record = label.partition(".jsonl#")
        pieces = file.split("/")
        pieces[-1] += mark + record
        parts[label] = pieces
    names: dict[str, str] = {}
    for count in range(1, max((len(p) for p in parts.values()), default=0) + 1):
        tails = Counter("/".join(p[-count:]) for p in parts.values())
        for label, pieces in parts.items():
            tail = "/".join(pieces[-count:])
            if label not in names and (tails[tail] == 1 or count >= len(pieces)):
                names[label] = tail
    return names
