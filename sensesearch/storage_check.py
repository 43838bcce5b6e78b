"""The occurrence store's checks and repair: rows against their documents, FAISS ids against rows, the codec.

The checks read the rows before the vectors: a writer saves vectors before it commits rows, so a
check racing a writer can at worst see vectors that are newer than the rows (reported as stray,
never as missing). A repair (run with the writer lock held) deletes untrusted rows first
(committed) and vectors second, the same order as every other writer, so an interrupted repair is
itself repairable. verify.py adds the config and model checks and writes the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Column, Table, func, or_, select
from sqlalchemy.engine import Connection

from . import checksums, digests
from .config import CONFIG_FILE, IndexConfig
from .errors import ConfigMismatchError, EncoderOutputError, IndexCorruptError, ModelLoadError, SenseSearchError
from .kwic import names_apart
from .visible import quoted_apart
from .reencode import Encode, count_documents, remade_lost_vectors, rewrite_vectors
from .dbengine import DAMAGED_DATABASE_ADVICE
from .schema import DocumentRow, documents, occurrences, sentences, words
from .store import MetaStore
from .vectors import VECTORS_FILE, VectorStore

SHOWN = 5
MODEL_ERRORS = (ModelLoadError, ConfigMismatchError, EncoderOutputError)


@dataclass(frozen=True)
class Problem:
    """One disagreement found in an index, and the documents it makes untrustworthy."""

    kind: str
    detail: str
    documents: tuple[int, ...] = ()


@dataclass
class Findings:
    """Problems and notes gathered by the checks, and the orphan rows a repair deletes."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    orphan_sentences: list[int] = field(default_factory=list)
    orphan_occurrences: list[int] = field(default_factory=list)
    damaged_kept: set[int] = field(default_factory=set)
    """Documents whose rows fail their content digest but that repair keeps (their files no longer hold the text)."""

    def add(self, kind: str, detail: str, docs: Iterable[int] = ()) -> None:
        self.problems.append(Problem(kind, detail, tuple(sorted(set(docs)))))


def check_storage(folder: Path, config: IndexConfig, meta: MetaStore,
                  found: Findings) -> tuple[VectorStore | None, list[DocumentRow]]:
    """Check the database, the rows, the vectors file, the checksums, FAISS ids against rows and the codec.

    Problems go into `found`; returns the vectors (None if unreadable) and the documents read.
    """
    for message in meta.integrity_problems():
        found.add("database", f"{message} (SQLite's own check; {DAMAGED_DATABASE_ADVICE})")
    docs = meta.all_documents()
    rows = np.asarray(meta.all_occurrence_ids(), dtype=np.int64)
    with meta.engine.connect() as conn:
        check_rows(conn, docs, found)
        lines, notes = digests.content_problems(conn, quoted_names(docs), kept=found.damaged_kept)
    for line, untrusted in lines:
        found.add("content", line, untrusted)
    found.notes += notes
    vectors = load_vectors(folder, config, found)
    if (folder / (VECTORS_FILE + ".tmp")).exists():
        found.notes.append(f"{VECTORS_FILE}.tmp is left from an interrupted save (harmless; --repair deletes it)")
    for problem in (IndexConfig.checksum_problem(folder), checksums.mismatch(folder / VECTORS_FILE),
                    checksums.missing(folder, CONFIG_FILE, VECTORS_FILE)):
        if problem:
            found.add("checksum", problem)
    if vectors is not None:
        check_ids(vectors.ids(), rows, docs, found)
        problem = vectors.codec_problem() if vectors.ntotal else None
        if problem:
            found.add("codec", f"{problem}; --repair re-encodes the stored sentences with a newly trained codec")
    return vectors, docs


def load_vectors(folder: Path, config: IndexConfig, found: Findings) -> VectorStore | None:
    if not (folder / VECTORS_FILE).is_file():
        found.add("vectors", f"{folder / VECTORS_FILE} is missing")
        return None
    try:
        vectors = VectorStore.load(folder / VECTORS_FILE, config.compression)
    except IndexCorruptError as exc:
        found.add("vectors", str(exc))
        return None
    if vectors.dim != config.dim:
        # The vectors are the data and config.json a one-line claim about them: the data wins.
        found.add("dimension", f"config.json says dimension {config.dim}, but the vectors file holds {vectors.ntotal} "
                               f"vectors of dimension {vectors.dim}; --repair sets config.json to {vectors.dim} "
                               "(no data is dropped for it)")
    return vectors


def check_rows(conn: Connection, docs: list[DocumentRow], found: Findings) -> None:
    """Each document's sentences and occurrences lie in its id ranges and match its counts; no orphans."""
    named = quoted_names(docs)
    per_doc_sentences = {r[0]: r[1:] for r in conn.execute(
        select(sentences.c.document_id, func.count(), func.min(sentences.c.id), func.max(sentences.c.id))
        .group_by(sentences.c.document_id))}
    per_doc_occurrences = {r[0]: r[1:] for r in conn.execute(
        select(sentences.c.document_id, func.count(), func.min(occurrences.c.id), func.max(occurrences.c.id))
        .select_from(occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id))
        .group_by(sentences.c.document_id))}
    for doc in docs:
        if doc.interrupted:
            found.add("interrupted", f"{named[doc.id]} was cut short after {doc.n_sentences} of "
                                     f"{doc.sentences_total} sentences (an ingest run stopped inside it); --repair "
                                     "removes it and the next index run indexes it again", [doc.id])
        n_sent, lo_sent, hi_sent = per_doc_sentences.get(doc.id, (0, None, None))
        n_occ, lo_occ, hi_occ = per_doc_occurrences.get(doc.id, (0, None, None))
        inside = (_within(lo_sent, hi_sent, doc.first_sentence, doc.n_sentences)
                  and _within(lo_occ, hi_occ, doc.first_occurrence, doc.n_occurrences))
        if n_sent != doc.n_sentences or n_occ != doc.n_occurrences or not inside:
            found.add("document", f"{named[doc.id]} should hold {doc.n_sentences} sentences and {doc.n_occurrences} "
                                  f"occurrences in its id ranges; the rows hold {n_sent} and {n_occ}", [doc.id])
    _check_overlaps(docs, named, found)
    found.orphan_sentences = _orphans(conn, sentences, sentences.c.document_id, documents, "document", found)
    found.orphan_occurrences = _orphans(conn, occurrences, occurrences.c.sentence_id, sentences, "sentence", found)
    joined = occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id)
    unknown = [int(r) for r in conn.execute(
        select(sentences.c.document_id).select_from(joined.outerjoin(words, words.c.id == occurrences.c.word_id))
        .where(words.c.id.is_(None)).distinct()).scalars()]
    if unknown:
        found.add("words", f"occurrences point to unknown words in {_listed(unknown, named)}", unknown)
    bad_offsets = [int(r) for r in conn.execute(
        select(sentences.c.document_id).select_from(joined)
        .where(or_(occurrences.c.start < 0, occurrences.c.end <= occurrences.c.start,
                   occurrences.c.end > func.length(sentences.c.text))).distinct()).scalars()]
    if bad_offsets:
        found.add("offsets", f"occurrences lie outside their sentence in {_listed(bad_offsets, named)}", bad_offsets)


def _orphans(conn: Connection, child: Table, link: Column[Any], parent: Table, parent_name: str,
             found: Findings) -> list[int]:
    """Ids of `child` rows whose `link` points at no `parent` row, noted in `found`."""
    ids = [int(i) for i in conn.execute(select(child.c.id).outerjoin(parent, parent.c.id == link)
                                        .where(parent.c.id.is_(None))).scalars()]
    if ids:
        found.add("orphans", f"{len(ids)} {child.name} belong to no {parent_name} (e.g. id {ids[0]})")
    return ids


def _within(low: int | None, high: int | None, first: int, count: int) -> bool:
    return low is None or (first <= low and high is not None and high < first + count)


def _check_overlaps(docs: list[DocumentRow], named: dict[int, str], found: Findings) -> None:
    for first, count, what in (("first_sentence", "n_sentences", "sentence"),
                               ("first_occurrence", "n_occurrences", "occurrence")):
        ordered = sorted((d for d in docs if getattr(d, count)), key=lambda d: getattr(d, first))
        for before, after in pairwise(ordered):
            if getattr(before, first) + getattr(before, count) > getattr(after, first):
                found.add("ranges", f"documents {named[before.id]} and {named[after.id]} share {what} ids",
                          [before.id, after.id])


def check_ids(stored: np.ndarray, rows: np.ndarray, docs: list[DocumentRow], found: Findings) -> None:
    """FAISS ids against occurrence ids, both ways; duplicates in FAISS."""
    unique, counts = np.unique(stored, return_counts=True)
    duplicated = unique[counts > 1]
    stray = np.setdiff1d(unique, rows, assume_unique=True)
    missing = np.setdiff1d(rows, unique, assume_unique=True)
    if len(stray):
        found.add("stray vectors", f"{len(stray)} vectors have no occurrence row (e.g. id {int(stray[0])}); "
                                   "an interrupted run or removal leaves these")
    named = quoted_names(docs)
    for bad, what in ((missing, "have no vector"), (np.intersect1d(duplicated, rows), "have several vectors")):
        if not len(bad):
            continue
        owners = [d.id for d in docs
                  if np.searchsorted(bad, d.first_occurrence) < np.searchsorted(bad, d.first_occurrence + d.n_occurrences)]
        found.add("vectors", f"{len(bad)} occurrences {what} (e.g. id {int(bad[0])})"
                             + (f", in {_listed(owners, named)}" if owners else ""), owners)


def quoted_names(docs: list[DocumentRow]) -> dict[int, str]:
    """Each document's name in a problem line, by id, quoted (visible.quoted_apart): its label, or "FILE#label" where
    documents of several files share it (names_apart): two records "r1" of two JSON Lines files had been two problems
    of 'r1'."""
    apart = names_apart((d.label, d.path) for d in docs)
    return dict(zip((d.id for d in docs), quoted_apart([apart[(d.label, d.path)] for d in docs])))


def _listed(doc_ids: list[int], named: dict[int, str]) -> str:
    names = [named.get(i, f"document id {i}") for i in doc_ids[:SHOWN]]
    more = f" and {len(doc_ids) - SHOWN} more" if len(doc_ids) > SHOWN else ""
    return f"{count_documents(len(doc_ids))}: " + ", ".join(names) + more


def _within_documents(ids: np.ndarray, docs: list[DocumentRow]) -> np.ndarray:
    """Which of `ids` (sorted) lie in the occurrence id ranges of `docs`."""
    inside = np.zeros(len(ids), dtype=bool)
    for doc in docs:
        stop = doc.first_occurrence + doc.n_occurrences
        inside[np.searchsorted(ids, doc.first_occurrence):np.searchsorted(ids, stop)] = True
    return inside


def _bytes_changed(folder: Path) -> bool:
    """Whether the vectors file fails its checksum, or lost its sum file (checksums.missing); not when the sum names
    only algorithms this version cannot compute (a newer sensesearch's file, which is not known to be damaged)."""
    path = folder / VECTORS_FILE
    if checksums.missing(folder, CONFIG_FILE, VECTORS_FILE):
        return True
    computable = all(algorithm in checksums.FILE_HASHES for algorithm, _ in checksums.expected_digests(path))
    return computable and checksums.mismatch(path) is not None


def repair(folder: Path, config: IndexConfig, store: MetaStore, vectors: VectorStore | None,
            docs: list[DocumentRow], found: Findings,
            encoder: Callable[[], Encode]) -> tuple[tuple[str, ...], tuple[DocumentRow, ...]]:
    """Rows of untrusted documents and orphans go first (committed), then every vector without a row; documents whose
    only fault is lost or doubled vectors keep their rows and get fresh vectors (`_reencoded_documents`).

    Returns what was done and the documents dropped (their paths too: two records "r1" must be told apart)."""
    actions: list[str] = []
    changed = vectors is not None and _bytes_changed(folder)
    if changed:
        # Readable but not the bytes that were saved (or its sum deleted): every reader refuses it, and dropping
        # only what the ids show would keep vectors whose values changed; it is remade like an unreadable one.
        vectors = None
    if vectors is None:
        # A damaged or missing vectors file is never an empty index: the rows stay, their vectors are made anew.
        broken = folder / VECTORS_FILE
        if store.counts()["occurrences"]:
            try:
                encoder()
            except MODEL_ERRORS as exc:
                # Before the file is moved: a repair where the model cannot load changes nothing (readers refuse the
                # file as they did), and says what a later one needs.
                raise type(exc)(f"{exc}; {broken.name} must be re-encoded from the stored sentences: run "
                                "`sensesearch verify --repair` again where the index's model loads") from None
        if broken.exists():
            broken.replace(folder / (VECTORS_FILE + ".corrupt"))
            what = "vectors file that fails its checksum" if changed else "unreadable vectors file"
            actions.append(f"moved the {what} aside to {VECTORS_FILE}.corrupt")
        try:
            actions.append(rewrite_vectors(folder, config, store, encoder))
        except SenseSearchError as exc:
            if not actions:
                raise
            # Say where the damaged file went: the folder now lacks vectors.faiss, and the error alone hid why.
            raise type(exc)(f"{exc}; the damaged vectors file was moved aside to {VECTORS_FILE}.corrupt: run "
                            "`sensesearch verify --repair` again once there is room") from None
        vectors = VectorStore.load(folder / VECTORS_FILE, config.compression)
        found.problems = [p for p in found.problems if p.kind != "vectors"]
        check_ids(vectors.ids(), np.asarray(store.all_occurrence_ids(), dtype=np.int64), docs, found)
    untrusted = {i for p in found.problems if p.kind != "vectors" for i in p.documents}
    lost = {i for p in found.problems if p.kind == "vectors" for i in p.documents} - untrusted
    fresh, held = remade_lost_vectors(config, store, lost, found.damaged_kept, untrusted, encoder, actions)
    dropped = [d for d in docs if d.id in untrusted]
    with store.begin() as conn:
        for doc in dropped:
            conn.execute(occurrences.delete().where(occurrences.c.sentence_id.in_(
                select(sentences.c.id).where(sentences.c.document_id == doc.id))))
            conn.execute(sentences.delete().where(sentences.c.document_id == doc.id))
            store.delete_document(conn, doc)
        for start in range(0, len(found.orphan_occurrences), 900):
            conn.execute(occurrences.delete().where(occurrences.c.id.in_(found.orphan_occurrences[start:start + 900])))
        for start in range(0, len(found.orphan_sentences), 900):
            conn.execute(sentences.delete().where(sentences.c.id.in_(found.orphan_sentences[start:start + 900])))
    if dropped:
        actions.append(f"dropped {len(dropped)} untrusted documents; index them again to restore them")
    if found.orphan_occurrences or found.orphan_sentences:
        actions.append(f"deleted {len(found.orphan_sentences)} orphan sentences and "
                       f"{len(found.orphan_occurrences)} orphan occurrences")
    # What is left of the re-encoded documents' vectors goes first, so that the count below is of vectors dropped.
    vectors.remove(np.concatenate([ids for ids, _ in fresh]) if fresh else np.empty(0, dtype=np.int64))
    stored = vectors.ids()
    unique, counts = np.unique(stored, return_counts=True)
    rows = np.asarray(store.all_occurrence_ids(), dtype=np.int64)
    # Doubled vectors of documents left as they are stay: dropping every copy lost vectors no repair could remake.
    doubled = unique[counts > 1]
    doubled = doubled[~_within_documents(doubled, [d for d in docs if d.id in held])]
    drop = np.union1d(np.setdiff1d(unique, rows, assume_unique=True), doubled)
    removed = vectors.remove(drop)
    for ids, values in fresh:
        vectors.add(ids, values)
    # As every writer does, lay the store out as its size calls for (a killed ingest can leave one exhaustive).
    laid_out = vectors.fit_layout()
    if laid_out or removed or fresh or not (folder / VECTORS_FILE).exists():
        vectors.save(folder / VECTORS_FILE)
    if removed:
        actions.append(f"removed {removed} vectors without a trustworthy occurrence row")
    if laid_out:
        actions.append(f"laid the {vectors.ntotal} vectors out anew, as their number calls for ({vectors.describe()})")
    leftover = folder / (VECTORS_FILE + ".tmp")
    if leftover.exists():
        leftover.unlink()
        actions.append(f"deleted the leftover {VECTORS_FILE}.tmp")
    return tuple(actions), tuple(dropped)
