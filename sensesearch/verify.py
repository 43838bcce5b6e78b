"""Check that an index's vectors, metadata and config agree, and drop what cannot be trusted.

The checks read the rows before the vectors: a writer saves vectors before it commits rows, so a
check racing a writer can at worst see vectors that are newer than the rows (reported as stray,
never as missing). A repair takes the writer lock, deletes untrusted rows first (committed) and
vectors second, the same order as every other writer, so an interrupted repair is itself repairable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from sqlalchemy import Column, Table, func, or_, select
from sqlalchemy.engine import Connection

from . import checksums, digests
from .config import COMPRESSION_CHOICES, CONFIG_FILE, IndexConfig
from .encoder import load_encoder
from .errors import ConfigMismatchError, IndexCorruptError, ModelLoadError
from .folder import LOCK_FILE, META_FILE, acquire_write_lock, read_index_config
from .reencode import reencoded_vectors
from .store import DAMAGED_DATABASE_ADVICE, DocumentRow, MetaStore, documents, occurrences, sentences, words
from .vectors import VECTORS_FILE, VectorStore

SHOWN = 5
UNREPAIRABLE = ("config", "model", "database")


@dataclass(frozen=True)
class Problem:
    """One disagreement found in an index, and the documents it makes untrustworthy."""

    kind: str
    detail: str
    documents: tuple[int, ...] = ()


@dataclass(frozen=True)
class VerifyReport:
    """Counts, problems and (after --repair) what was dropped."""

    path: str
    documents: int
    sentences: int
    occurrences: int
    vectors: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    dropped_documents: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sound"] = self.sound
        data["problems"] = [{"kind": p.kind, "detail": p.detail} for p in self.problems]
        return data


@dataclass
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    orphan_sentences: list[int] = field(default_factory=list)
    orphan_occurrences: list[int] = field(default_factory=list)

    def add(self, kind: str, detail: str, docs: Iterable[int] = ()) -> None:
        self.problems.append(Problem(kind, detail, tuple(sorted(set(docs)))))


def verify_index(path: str | Path, *, repair: bool = False, check_model: bool = True,
                 device: str | None = None) -> VerifyReport:
    """Check the index at `path`; with `repair`, drop untrusted vectors and documents, then check again."""
    folder = Path(path)
    config = read_index_config(folder)
    if config.db_url is None and not (folder / META_FILE).is_file():
        raise IndexCorruptError(f"{folder / META_FILE} is missing: the index has no metadata to check")
    lock = acquire_write_lock(folder, 0) if repair else None
    store: MetaStore | None = None
    try:
        store = MetaStore(config.db_url or f"sqlite:///{(folder / META_FILE).resolve()}", lemma_language=config.lemma_language)
        findings, vectors, docs = _check(folder, config, store, check_model, device)
        if lock is None and _writer_active(folder):
            findings.notes.append("another process is writing to this index: stray vectors may be its unfinished work")
        if not repair or not findings.problems:
            return _report(folder, store, vectors, findings)
        if vectors is not None and vectors.dim != config.dim:
            config = replace(config, dim=vectors.dim)
            config.save(folder)
            findings.notes.append(f"config.json's dim was set to {vectors.dim}, the stored vectors' dimension")
        repaired, dropped = _repair(folder, config, store, vectors, docs, findings, device)
        if any(p.kind == "codec" for p in findings.problems):
            repaired += (_reencode(folder, config, store, device),)
        model_problem = any(p.kind == "model" for p in findings.problems)
        after, vectors, _ = _check(folder, config, store, check_model=model_problem, device=device)
        after.notes[:0] = findings.notes
        after.problems[:0] = [p for p in findings.problems if p.kind in UNREPAIRABLE and p.kind != "model"
                              and p not in after.problems]
        return _report(folder, store, vectors, after, repaired, dropped)
    finally:
        if store is not None:
            store.close()
        if lock is not None:
            lock.release()


def _reencode(folder: Path, config: IndexConfig, store: MetaStore, device: str | None) -> str:
    """New vectors for every stored occurrence, from the stored sentences (the model is needed, the corpus is not)."""
    if not store.counts()["occurrences"]:
        VectorStore.create(config.dim, config.compression).save(folder / VECTORS_FILE)
        return "wrote an empty vectors file (the metadata holds no occurrences)"
    encoder = load_encoder(config.encoder, device)
    if encoder.fingerprint != config.model_fingerprint:
        raise ConfigMismatchError(f"cannot re-encode: {config.encoder.model!r} now has weights fingerprint "
                                  f"{encoder.fingerprint}, the index was built with {config.model_fingerprint}")
    fresh = reencoded_vectors(store, encoder.encode, config.dim, config.compression)
    fresh.save(folder / VECTORS_FILE)
    return f"re-encoded {fresh.ntotal} vectors from the stored sentences ({fresh.describe()})"


def _writer_active(folder: Path) -> bool:
    probe = FileLock(str(folder / LOCK_FILE), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def _report(folder: Path, store: MetaStore, vectors: VectorStore | None, findings: _Findings,
            repaired: tuple[str, ...] = (), dropped: tuple[str, ...] = ()) -> VerifyReport:
    counts = store.counts()
    return VerifyReport(path=str(folder), documents=counts["documents"], sentences=counts["sentences"],
                        occurrences=counts["occurrences"], vectors=vectors.ntotal if vectors else 0,
                        problems=tuple(findings.problems), notes=tuple(findings.notes), repaired=repaired,
                        dropped_documents=dropped)


def _check(folder: Path, config: IndexConfig, store: MetaStore, check_model: bool,
           device: str | None) -> tuple[_Findings, VectorStore | None, list[DocumentRow]]:
    found = _Findings()
    _check_config(config, found, check_model, device)
    for message in store.integrity_problems():
        found.add("database", f"{message} (SQLite's own check; {DAMAGED_DATABASE_ADVICE})")
    docs = store.all_documents()
    rows = np.asarray(store.all_occurrence_ids(), dtype=np.int64)
    with store.engine.connect() as conn:
        _check_rows(conn, docs, found)
        lines, notes = digests.content_problems(conn)
    for line, untrusted in lines:
        found.add("content", line, untrusted)
    found.notes += notes
    vectors = _load_vectors(folder, config, found)
    if (folder / (VECTORS_FILE + ".tmp")).exists():
        found.notes.append(f"{VECTORS_FILE}.tmp is left from an interrupted save (harmless; --repair deletes it)")
    for problem in (IndexConfig.checksum_problem(folder), checksums.mismatch(folder / VECTORS_FILE),
                    checksums.missing(folder, CONFIG_FILE, VECTORS_FILE)):
        if problem:
            found.add("checksum", problem)
    if vectors is not None:
        _check_ids(vectors.ids(), rows, docs, found)
        problem = vectors.codec_problem() if vectors.ntotal else None
        if problem:
            found.add("codec", f"{problem}; --repair re-encodes the stored sentences with a newly trained codec")
    return found, vectors, docs


def _check_config(config: IndexConfig, found: _Findings, check_model: bool, device: str | None) -> None:
    if not config.model_fingerprint:
        found.add("config", "config.json records no model fingerprint")
    if config.dim < 1:
        found.add("config", f"config.json gives dimension {config.dim}")
    if config.compression not in COMPRESSION_CHOICES:
        found.add("config", f"config.json names unknown compression {config.compression!r}")
    if not check_model:
        return
    try:
        encoder = load_encoder(config.encoder, device)
    except ModelLoadError as exc:
        found.notes.append(f"model not checked: {exc}")
        return
    if encoder.fingerprint != config.model_fingerprint:
        found.add("model", f"{config.encoder.model!r} now has weights fingerprint {encoder.fingerprint}, "
                           f"the index was built with {config.model_fingerprint}")
    if encoder.dim != config.dim:
        found.add("model", f"{config.encoder.model!r} with these layers gives dimension {encoder.dim}, "
                           f"config.json says {config.dim}")


def _load_vectors(folder: Path, config: IndexConfig, found: _Findings) -> VectorStore | None:
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


def _check_rows(conn: Connection, docs: list[DocumentRow], found: _Findings) -> None:
    """Each document's sentences and occurrences lie in its id ranges and match its counts; no orphans."""
    by_id = {d.id: d for d in docs}
    per_doc_sentences = {r[0]: r[1:] for r in conn.execute(
        select(sentences.c.document_id, func.count(), func.min(sentences.c.id), func.max(sentences.c.id))
        .group_by(sentences.c.document_id))}
    per_doc_occurrences = {r[0]: r[1:] for r in conn.execute(
        select(sentences.c.document_id, func.count(), func.min(occurrences.c.id), func.max(occurrences.c.id))
        .select_from(occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id))
        .group_by(sentences.c.document_id))}
    for doc in docs:
        n_sent, lo_sent, hi_sent = per_doc_sentences.get(doc.id, (0, None, None))
        n_occ, lo_occ, hi_occ = per_doc_occurrences.get(doc.id, (0, None, None))
        inside = (_within(lo_sent, hi_sent, doc.first_sentence, doc.n_sentences)
                  and _within(lo_occ, hi_occ, doc.first_occurrence, doc.n_occurrences))
        if n_sent != doc.n_sentences or n_occ != doc.n_occurrences or not inside:
            found.add("document", f"{doc.label!r} should hold {doc.n_sentences} sentences and {doc.n_occurrences} "
                                  f"occurrences in its id ranges; the rows hold {n_sent} and {n_occ}", [doc.id])
    _check_overlaps(docs, found)
    found.orphan_sentences = _orphans(conn, sentences, sentences.c.document_id, documents, "document", found)
    found.orphan_occurrences = _orphans(conn, occurrences, occurrences.c.sentence_id, sentences, "sentence", found)
    joined = occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id)
    unknown = [int(r) for r in conn.execute(
        select(sentences.c.document_id).select_from(joined.outerjoin(words, words.c.id == occurrences.c.word_id))
        .where(words.c.id.is_(None)).distinct()).scalars()]
    if unknown:
        found.add("words", f"occurrences point to unknown words in {_labels(unknown, by_id)}", unknown)
    bad_offsets = [int(r) for r in conn.execute(
        select(sentences.c.document_id).select_from(joined)
        .where(or_(occurrences.c.start < 0, occurrences.c.end <= occurrences.c.start,
                   occurrences.c.end > func.length(sentences.c.text))).distinct()).scalars()]
    if bad_offsets:
        found.add("offsets", f"occurrences lie outside their sentence in {_labels(bad_offsets, by_id)}", bad_offsets)


def _orphans(conn: Connection, child: Table, link: Column[Any], parent: Table, parent_name: str,
             found: _Findings) -> list[int]:
    """Ids of `child` rows whose `link` points at no `parent` row, noted in `found`."""
    ids = [int(i) for i in conn.execute(select(child.c.id).outerjoin(parent, parent.c.id == link)
                                        .where(parent.c.id.is_(None))).scalars()]
    if ids:
        found.add("orphans", f"{len(ids)} {child.name} belong to no {parent_name} (e.g. id {ids[0]})")
    return ids


def _within(low: int | None, high: int | None, first: int, count: int) -> bool:
    return low is None or (first <= low and high is not None and high < first + count)


def _check_overlaps(docs: list[DocumentRow], found: _Findings) -> None:
    for first, count, what in (("first_sentence", "n_sentences", "sentence"),
                               ("first_occurrence", "n_occurrences", "occurrence")):
        ordered = sorted((d for d in docs if getattr(d, count)), key=lambda d: getattr(d, first))
        for before, after in pairwise(ordered):
            if getattr(before, first) + getattr(before, count) > getattr(after, first):
                found.add("ranges", f"documents {before.label!r} and {after.label!r} share {what} ids",
                          [before.id, after.id])


def _check_ids(stored: np.ndarray, rows: np.ndarray, docs: list[DocumentRow], found: _Findings) -> None:
    """FAISS ids against occurrence ids, both ways; duplicates in FAISS."""
    unique, counts = np.unique(stored, return_counts=True)
    duplicated = unique[counts > 1]
    stray = np.setdiff1d(unique, rows, assume_unique=True)
    missing = np.setdiff1d(rows, unique, assume_unique=True)
    if len(stray):
        found.add("stray vectors", f"{len(stray)} vectors have no occurrence row (e.g. id {int(stray[0])}); "
                                   "an interrupted run or removal leaves these")
    by_id = {d.id: d for d in docs}
    for bad, what in ((missing, "have no vector"), (np.intersect1d(duplicated, rows), "have several vectors")):
        if not len(bad):
            continue
        owners = [d.id for d in docs
                  if np.searchsorted(bad, d.first_occurrence) < np.searchsorted(bad, d.first_occurrence + d.n_occurrences)]
        found.add("vectors", f"{len(bad)} occurrences {what} (e.g. id {int(bad[0])})"
                             + (f", in {_labels(owners, by_id)}" if owners else ""), owners)


def _labels(doc_ids: list[int], by_id: dict[int, DocumentRow]) -> str:
    names = [repr(by_id[i].label) if i in by_id else f"document id {i}" for i in doc_ids[:SHOWN]]
    more = f" and {len(doc_ids) - SHOWN} more" if len(doc_ids) > SHOWN else ""
    return f"{len(doc_ids)} document{'s' if len(doc_ids) != 1 else ''}: " + ", ".join(names) + more


def _repair(folder: Path, config: IndexConfig, store: MetaStore, vectors: VectorStore | None,
            docs: list[DocumentRow], found: _Findings,
            device: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Rows of untrusted documents and orphans go first (committed), then every vector without a row."""
    actions: list[str] = []
    if vectors is None:
        # A damaged or missing vectors file is never an empty index: the rows stay, their vectors are made anew.
        broken = folder / VECTORS_FILE
        if broken.exists():
            broken.replace(folder / (VECTORS_FILE + ".corrupt"))
            actions.append(f"moved the unreadable vectors file aside to {VECTORS_FILE}.corrupt")
        actions.append(_reencode(folder, config, store, device))
        vectors = VectorStore.load(folder / VECTORS_FILE, config.compression)
        found.problems = [p for p in found.problems if p.kind != "vectors"]
        _check_ids(vectors.ids(), np.asarray(store.all_occurrence_ids(), dtype=np.int64), docs, found)
    untrusted = {i for p in found.problems for i in p.documents}
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
    stored = vectors.ids()
    unique, counts = np.unique(stored, return_counts=True)
    rows = np.asarray(store.all_occurrence_ids(), dtype=np.int64)
    drop = np.union1d(np.setdiff1d(unique, rows, assume_unique=True), unique[counts > 1])
    removed = vectors.remove(drop)
    if removed or not (folder / VECTORS_FILE).exists():
        vectors.save(folder / VECTORS_FILE)
    if removed:
        actions.append(f"removed {removed} vectors without a trustworthy occurrence row")
    leftover = folder / (VECTORS_FILE + ".tmp")
    if leftover.exists():
        leftover.unlink()
        actions.append(f"deleted the leftover {VECTORS_FILE}.tmp")
    return tuple(actions), tuple(d.label for d in dropped)
