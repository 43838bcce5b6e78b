"""Content digests of stored documents: what answers depend on, checked so changed rows are found, not served.

Each document row carries `digest`: BLAKE2b over its own fields (key, label, path, content hash,
metadata, id ranges, piece count), its sentences (id, document, start, text) and its occurrences
(id, sentence, position, char offsets, and the form and lemma of the word each one points at), in
id order. The writer computes it from the rows it has just inserted, in the same transaction and
with the same code `verify` uses to recompute it, so both measure alike (issue 17 item 2). A word
form shared by many documents is part of each one's digest: changing it damages all of them.
SQLite keeps no checksum of its pages, so a flipped byte inside a sentence's text passes
`PRAGMA quick_check`; only a digest like this one finds it. Computing one document's digest is rowdigest.py's;
this module checks documents against theirs, writes missing ones, and words what verify reports.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from .errors import SenseSearchError
from .rowdigest import (DOCUMENT_FIELDS, digest_rows, document_digest, driver_rows, occurrence_query,
                        sentence_query)
from .schema import ID_BATCH, documents
from .visible import quoted_apart

BATCH_OCCURRENCES = 50_000
"""Documents are read in batches of about this many occurrences (two range scans per batch)."""
GAP_OCCURRENCES = 5_000
"""Ids not held by the documents being read beyond which a batch ends rather than scan across them."""
QUICK_OCCURRENCES = 20_000
"""The quick check on opening for writing reads about this many occurrences: the last-written documents
(the ones an interrupted or faulty last write touched), then a run of documents from a random place."""
LAST_WRITTEN = 0.5
"""Share of the quick check's budget spent on the last-written documents."""
SHOWN = 20
"""Damaged documents named one line each; the rest are counted in one more line."""


@dataclass(frozen=True)
class Damage:
    """A document whose rows no longer match the digest written with them (digest None: it has none)."""

    id: int
    key: str
    label: str
    path: str
    content_hash: str
    digest: str | None


def digest_of_rows(row: Mapping[str, Any], sentence_rows: Iterable[Sequence[Any]],
                   occurrence_rows: Iterable[Sequence[Any]]) -> str:
    """The digest of a document from its fields in `row` (DOCUMENT_FIELDS) and its rows as `verify` reads them:
    sentences (id, document_id, start, text) and occurrences (id, sentence_id, position, start, end, the word's
    form, its lemma), each in id order. For a writer that still holds the rows it has just inserted."""
    return digest_rows(row, sentence_rows, occurrence_rows)


def _document_rows(conn: Connection, ids: Sequence[int] | None) -> list[dict[str, Any]]:
    query = select(*[documents.c[name] for name in DOCUMENT_FIELDS], documents.c.digest).order_by(
        documents.c.first_occurrence)
    found: list[dict[str, Any]] = []
    if ids is None:
        return [dict(r._mapping) for r in conn.execute(query)]
    for start in range(0, len(ids), ID_BATCH):
        batch = list(ids[start:start + ID_BATCH])
        found += [dict(r._mapping) for r in conn.execute(query.where(documents.c.id.in_(batch)))]
    return sorted(found, key=lambda r: r["first_occurrence"])


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        # A wide gap (a sample's runs; many removed documents) ends a batch: one range scan must not read it.
        if batch and int(row["first_occurrence"]) - int(batch[-1]["first_occurrence"]) - int(
                batch[-1]["n_occurrences"]) > GAP_OCCURRENCES:
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += int(row["n_occurrences"]) + int(row["n_sentences"])
        if size >= BATCH_OCCURRENCES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _recomputed(conn: Connection, rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each document row with the digest of its rows as they are now, read in batches of about
    BATCH_OCCURRENCES occurrences: one range scan of sentences and one of occurrences per batch
    (documents' id ranges are contiguous and do not overlap)."""
    for batch in _batches(rows):
        if len(batch) == 1 and int(batch[0]["n_occurrences"]) >= BATCH_OCCURRENCES:
            yield batch[0], document_digest(conn, batch[0])
            continue
        s_low = min(int(r["first_sentence"]) for r in batch)
        s_high = max(int(r["first_sentence"]) + int(r["n_sentences"]) for r in batch)
        o_low = min(int(r["first_occurrence"]) for r in batch)
        o_high = max(int(r["first_occurrence"]) + int(r["n_occurrences"]) for r in batch)
        sentence_rows = list(driver_rows(conn, sentence_query(s_low, s_high - 1)))
        occurrence_rows = list(driver_rows(conn, occurrence_query(o_low, o_high - 1)))
        sentence_ids = [int(r[0]) for r in sentence_rows]
        occurrence_ids = [int(r[0]) for r in occurrence_rows]
        for row in batch:
            own_s = _within(sentence_rows, sentence_ids, int(row["first_sentence"]), int(row["n_sentences"]))
            own_o = _within(occurrence_rows, occurrence_ids, int(row["first_occurrence"]), int(row["n_occurrences"]))
            yield row, digest_rows(row, own_s, own_o)


def damaged_documents(conn: Connection, ids: Sequence[int] | None = None) -> list[Damage]:
    """Documents (all, or those with `ids`) whose rows do not match their digest, or that have none."""
    return [Damage(int(row["id"]), row["key"], row["label"], row["path"], row["content_hash"], row["digest"])
            for row, digest in _recomputed(conn, _document_rows(conn, ids))
            if row["digest"] is None or digest != row["digest"]]


def _within(rows: Sequence[Any], ids: list[int], first: int, count: int) -> Sequence[Any]:
    return rows[bisect_left(ids, first):bisect_left(ids, first + count)]


def quick_sample(conn: Connection, budget: int = QUICK_OCCURRENCES, seed: int | None = None) -> list[int]:
    """Ids of the documents the quick check reads: all when the index holds at most `budget` occurrences,
    else the last-written ones up to half the budget and a run of neighbours from a random place for the rest
    (runs, not scattered documents, so that each half is one range scan)."""
    rows = [(int(i), int(n)) for i, n in conn.execute(
        select(documents.c.id, documents.c.n_occurrences).order_by(documents.c.first_occurrence.desc()))]
    if sum(n for _, n in rows) <= budget:
        return [i for i, _ in rows]
    chosen, spent, taken = _run(rows, 0, budget * LAST_WRITTEN)
    rest = rows[taken:]
    more, _, _ = _run(rest, random.Random(seed).randrange(len(rest)), budget - spent) if rest else ([], 0, 0)
    return chosen + more


def _run(rows: list[tuple[int, int]], start: int, budget: float) -> tuple[list[int], int, int]:
    """Documents from rows[start:] until `budget` occurrences are reached (at least one if the budget is positive):
    ids, occurrences, count."""
    chosen: list[int] = []
    spent = 0
    for doc_id, n in rows[start:]:
        if spent >= budget and (chosen or budget <= 0):
            break
        chosen.append(doc_id)
        spent += n
    return chosen, spent, len(chosen)


def fill_missing(conn: Connection) -> int:
    """Write the digest of every document that has none, from its rows as they are; returns how many."""
    missing = [int(i) for i in conn.execute(select(documents.c.id).where(documents.c.digest.is_(None))).scalars()]
    for row, digest in _recomputed(conn, _document_rows(conn, missing)):
        conn.execute(documents.update().where(documents.c.id == row["id"]).values(digest=digest))
    return len(missing)


def remade_after(conn: Connection, ids: Sequence[int], change: Callable[[], None]) -> int:
    """Run `change` (an edit of documents `ids`' rows) and give each document that matched its digest before it the
    digest of its rows after it; returns how many. A document that did not match keeps its old digest, so damage
    done before the change stays visible to verify."""
    intact = [row for row, digest in _recomputed(conn, _document_rows(conn, ids)) if digest == row["digest"]]
    change()
    for row, digest in _recomputed(conn, intact):
        conn.execute(documents.update().where(documents.c.id == row["id"]).values(digest=digest))
    return len(intact)


def _rebuildable(damage: Damage) -> bool:
    """Whether the document's file still holds the text it was indexed from (so dropping it loses nothing)."""
    from .corpus import read_corpus  # only for damaged documents: reading a corpus is no part of a clean check

    try:
        return any(getattr(d, "key", None) == damage.key and getattr(d, "content_hash", None) == damage.content_hash
                   for d in read_corpus([damage.path]))
    except (OSError, SenseSearchError):
        return False


def content_problems(conn: Connection, named: Mapping[int, str], shown: int = SHOWN,
                     kept: set[int] | None = None) -> tuple[list[tuple[str, tuple[int, ...]]], list[str]]:
    """verify's content check: one (line, documents repair may drop) per damaged document, and notes. `named`: each
    document's name in a line, by id (storage_check.quoted_names): the lines had begun with the bare label, so records
    "r1" of two JSON Lines files began alike, and the file each named after it was not quoted; files are quoted apart
    (visible.quoted_apart), as a composed and a decomposed "\u00c5.txt" read alike.

    A document is offered to repair (which drops it, to be indexed again) only when its file still holds
    the text it was indexed from: the digest alone never decides that data is destroyed, since the digest
    may be the damaged witness. Otherwise the line says how to restore it and repair keeps it; `kept`, when
    given, gets the ids of those documents.
    """
    damaged = damaged_documents(conn)
    lines: list[tuple[str, tuple[int, ...]]] = []
    notes = []
    unchecked = [d for d in damaged if d.digest is None]
    if unchecked:
        notes.append(f"not checked, having no content digest: {len(unchecked)} "
                     f"{'document' if len(unchecked) == 1 else 'documents'}")
    changed = [d for d in damaged if d.digest is not None]
    files = {d.path: quoted for d, quoted in zip(changed, quoted_apart([d.path for d in changed[:shown]]))}
    for damage in changed[:shown]:
        what = (f"{named[damage.id]}: its stored sentences, offsets or words no longer match the digest written "
                "with them (disk damage or an edit), so its answers may be wrong")
        if _rebuildable(damage):
            lines.append((f"{what}; `sensesearch verify --repair` drops it, then index {files[damage.path]} again",
                          (damage.id,)))
        else:
            lines.append((f"{what}; its file {files[damage.path]} no longer holds that text, so repair keeps it: "
                          "restore meta.sqlite from a backup, or index the corpus into a new folder", ()))
            if kept is not None:
                kept.add(damage.id)
    if len(changed) > shown:
        rest = changed[shown:]
        offered = tuple(d.id for d in rest if _rebuildable(d))
        if kept is not None:
            kept.update(d.id for d in rest if d.id not in offered)
        lines.append((f"{len(rest)} more documents have the same damage (e.g. {named[rest[0].id]}); {len(offered)} of "
                      "them can be dropped by `sensesearch verify --repair` and indexed again from their files",
                      offered))
    return lines, notes


def quick_problem(engine: Engine, budget: int = QUICK_OCCURRENCES) -> str | None:
    """The check a writer runs on opening: digests of a bounded sample (see quick_sample); why it fails, or None."""
    with engine.connect() as conn:
        damaged = [d for d in damaged_documents(conn, quick_sample(conn, budget)) if d.digest is not None]
    if not damaged:
        return None
    return (f"{len(damaged)} document{'s' if len(damaged) != 1 else ''} (e.g. {damaged[0].label!r}) no longer match "
            "the content digest written with their rows (disk damage or an edit in the metadata store)")
