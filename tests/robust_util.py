"""Helpers for the robustness tests: run the CLI in a child process, and compare or audit indexes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from sensesearch import SenseIndex
from sensesearch.schema import documents, occurrences, sentences, words
from sensesearch.verify import verify_index

REPO = Path(__file__).resolve().parents[1]
FAKE_CLI = REPO / "tests" / "fake_cli.py"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "SENSESEARCH_"))}
    env.update({"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


def cli_command(*args: str | Path) -> list[str]:
    """The sensesearch CLI, run by the wrapper that registers the fake encoder."""
    return [sys.executable, str(FAKE_CLI), *map(str, args)]


def run_cli(*args: str | Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_command(*args), env=child_env(**env), capture_output=True, text=True, check=False,
                          timeout=timeout, cwd=REPO)


def start_cli(*args: str | Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(cli_command(*args), env=child_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)


def write_corpus(folder: Path, n_docs: int, n_sentences: int, tag: str = "") -> Path:
    """Documents of distinct short sentences; "doc" and "sentence" occur in every sentence."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        text = " ".join(f"Sentence {j} of doc {i}{tag} says word{(i * 7 + j) % 50} here." for j in range(n_sentences))
        (folder / f"d{i:03d}.txt").write_text(text + "\n")
    return folder


@dataclass(frozen=True)
class Snapshot:
    """An index's content independent of id allocation, plus its id bookkeeping."""

    documents: tuple[tuple[str, str, int, int], ...]
    sentences: Counter
    occurrences: Counter
    row_ids: np.ndarray
    vector_ids: np.ndarray
    vectors_by_place: dict[tuple[str, int, int], np.ndarray]


def snapshot(path: Path) -> Snapshot:
    with SenseIndex.open(path, read_only=True) as index, index.store.engine.connect() as conn:
        docs = tuple(sorted(tuple(r) for r in conn.execute(select(
            documents.c.key, documents.c.content_hash, documents.c.n_sentences, documents.c.n_occurrences))))
        in_doc = sentences.join(documents, documents.c.id == sentences.c.document_id)
        sents = Counter(tuple(r) for r in conn.execute(
            select(documents.c.key, sentences.c.start, sentences.c.text).select_from(in_doc)))
        rows = conn.execute(
            select(occurrences.c.id, documents.c.key, sentences.c.start, occurrences.c.start, occurrences.c.end,
                   words.c.form)
            .select_from(occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id)
                         .join(documents, documents.c.id == sentences.c.document_id)
                         .join(words, words.c.id == occurrences.c.word_id))).all()
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        stored = index.vectors.reconstruct(ids)
        return Snapshot(documents=docs, sentences=sents, occurrences=Counter(tuple(r[1:]) for r in rows),
                        row_ids=np.sort(ids), vector_ids=np.sort(index.vectors.ids()),
                        vectors_by_place={(r[1], r[2] + r[3], r[4]): v for r, v in zip(rows, stored)})


def assert_same_content(got: Snapshot, expected: Snapshot, atol: float = 1e-5) -> None:
    assert got.documents == expected.documents
    assert got.sentences == expected.sentences
    assert got.occurrences == expected.occurrences
    assert len(np.unique(got.row_ids)) == len(got.row_ids)
    assert len(np.unique(got.vector_ids)) == len(got.vector_ids), "duplicate ids in the vectors file"
    assert np.array_equal(got.row_ids, got.vector_ids), "FAISS ids differ from SQLite ids"
    assert got.vectors_by_place.keys() == expected.vectors_by_place.keys()
    for place, vector in expected.vectors_by_place.items():
        np.testing.assert_allclose(got.vectors_by_place[place], vector, atol=atol)


def assert_readable_and_complete(path: Path) -> int:
    """A reader can open the index after a crash; every stored document is whole or marked as cut short
    by a checkpoint inside it (verify's "interrupted"); returns how many there are."""
    report = verify_index(path, check_model=False)
    assert [p.kind for p in report.problems if p.kind not in ("stray vectors", "interrupted")] == [], report.problems
    with SenseIndex.open(path, read_only=True) as index, index.store.engine.connect() as conn:
        n_docs = int(conn.execute(select(func.count()).select_from(documents)).scalar() or 0)
        if n_docs == 0:
            return 0
        hits = index.query("the [[doc]] of sentence", k=50)
        assert hits and all(h.word.lower() == "doc" for h in hits)
        complete = {r[0] for r in conn.execute(select(documents.c.label))}
        assert {h.document for h in hits} <= complete
        usages = index.usages("doc")
        assert len(usages) == sum(int(d["sentences"]) for d in index.documents())
        stored = set(index.vectors.ids().tolist())
        assert all(h.occurrence_id in stored for h in usages)
    return n_docs
