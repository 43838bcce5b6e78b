"""Everything an index holds, as plain data, so two builds can be compared row by row and vector by vector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from sensesearch import SenseIndex
from sensesearch.schema import documents, occurrences, sentences, words


@dataclass(frozen=True)
class Snapshot:
    documents: list[tuple]
    sentences: list[tuple]
    occurrences: list[tuple]
    ids: np.ndarray
    vectors: np.ndarray


def snapshot(index: SenseIndex) -> Snapshot:
    with index.store.engine.connect() as conn:
        docs = [tuple(r) for r in conn.execute(
            select(documents.c.id, documents.c.key, documents.c.content_hash, documents.c.first_sentence,
                   documents.c.n_sentences, documents.c.first_occurrence, documents.c.n_occurrences,
                   documents.c.n_pieces).order_by(documents.c.id))]
        sents = [tuple(r) for r in conn.execute(
            select(sentences.c.id, sentences.c.document_id, sentences.c.start, sentences.c.text)
            .order_by(sentences.c.id))]
        occs = [tuple(r) for r in conn.execute(
            select(occurrences.c.id, occurrences.c.sentence_id, words.c.form, occurrences.c.position,
                   occurrences.c.start, occurrences.c.end)
            .join(words, words.c.id == occurrences.c.word_id).order_by(occurrences.c.id))]
    ids = np.sort(index.vectors.ids())
    return Snapshot(docs, sents, occs, ids, index.vectors.reconstruct(ids))


def assert_same_index(a: Snapshot, b: Snapshot) -> float:
    """Rows and ids must be identical; returns the largest vector difference for the caller to bound."""
    assert a.documents == b.documents
    assert a.sentences == b.sentences
    assert a.occurrences == b.occurrences
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.ids, np.array([o[0] for o in a.occurrences], dtype=np.int64))
    return float(np.abs(a.vectors - b.vectors).max()) if len(a.ids) else 0.0


def write_corpus(folder: Path, n_docs: int = 12, sentences_per_doc: int = 128) -> Path:
    """Documents whose sentence counts line chunks (512 sentences) up with document boundaries."""
    folder.mkdir(parents=True, exist_ok=True)
    rivers = ["Thames", "Seine", "Rhine", "Danube", "Volga", "Loire", "Elbe"]
    for i in range(n_docs):
        lines = [f"Report {i} line {j}: the {'river' if (i + j) % 2 else 'savings'} bank near the "
                 f"{rivers[(i * j) % len(rivers)]} was busy." for j in range(sentences_per_doc)]
        (folder / f"doc{i:02d}.txt").write_text("\n".join(lines) + "\n")
    return folder
