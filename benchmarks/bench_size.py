"""Index size per occurrence for each compression, and how much each one changes search results.

The corpus is encoded once with the real model; every compression then indexes the very same
vectors, so the sizes and overlaps compare storage alone. Exact float32 (`flat`) is the reference.

    python benchmarks/bench_size.py                       # whole inaugural corpus
    python benchmarks/bench_size.py --docs 2 --chars 6000   # smoke size
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, corpus_sentences, emit, folder_bytes, remove, subsample_corpus

from sensesearch.config import COMPRESSION_CHOICES, EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.index import SenseIndex
from sensesearch.records import EncodedSentence

K = 10


class CachedEncoder:
    """Serves vectors computed beforehand, so each compression indexes identical inputs."""

    def __init__(self, encoder: TransformerEncoder, sentences: Sequence[str]) -> None:
        self.settings = encoder.settings
        self.dim = encoder.dim
        self.fingerprint = encoder.fingerprint
        self.cache: dict[str, EncodedSentence] = {}
        for first in range(0, len(sentences), 2048):
            batch = list(dict.fromkeys(s for s in sentences[first:first + 2048] if s not in self.cache))
            self.cache.update(zip(batch, encoder.encode(batch)))

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        return [self.cache[s] for s in sentences]


def query_sample(index: SenseIndex, n: int, seed: int) -> list[tuple[int, np.ndarray]]:
    """(query occurrence, ids of all other usages of its word) for n occurrences of words with > K usages."""
    with index.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, word_id FROM occurrences").all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    word = np.array([r[1] for r in rows], dtype=np.int64)
    counts = np.bincount(word)
    eligible = ids[counts[word] > K]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(eligible, size=min(n, len(eligible)), replace=False)
    by_id = dict(zip(ids.tolist(), word.tolist()))
    return [(int(q), ids[(word == by_id[int(q)]) & (ids != q)]) for q in chosen]


def top_k(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray) -> set[int]:
    scores = vectors @ query
    return set(ids[np.argsort(-scores, kind="stable")[:K]].tolist())


def _without(found: list[int], query: int) -> set[int]:
    return set([i for i in found if i != query][:K])


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-size-"))
    results: dict[str, Any] = {}
    try:
        corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "corpus", args.docs, args.chars)
        sentences = corpus_sentences(corpus)
        cached = CachedEncoder(TransformerEncoder(EncoderSettings()), sentences)
        indexes = {}
        for compression in ["flat", *[c for c in args.compressions if c != "flat"]]:
            folder = workdir / compression
            with SenseIndex.create(folder, encoder=cached, compression=compression) as index:
                index.add([corpus])
            indexes[compression] = SenseIndex.open(folder, read_only=True, encoder=cached)
            results[compression] = {"bytes_vectors": folder_bytes(folder, "vectors.faiss"),
                                    "bytes_meta": folder_bytes(folder, "meta.sqlite*"),
                                    "index_type": indexes[compression].vectors.describe()}
        exact = indexes["flat"].vectors
        queries = query_sample(indexes["flat"], args.queries, args.seed)
        query_vectors = exact.reconstruct(np.array([q for q, _ in queries], dtype=np.int64))
        truth_same = [top_k(exact.reconstruct(others), others, v) for (_, others), v in zip(queries, query_vectors)]
        _, truth_any = exact.search(query_vectors, K + 1)
        occurrences = exact.ntotal
        for compression, index in indexes.items():
            store = index.vectors
            same = [len(top_k(store.reconstruct(others), others, v) & truth) / K
                    for (_, others), v, truth in zip(queries, query_vectors, truth_same)]
            _, found = store.search(query_vectors, K + 1)
            recall = [len(_without(f, q) & _without(t, q)) / K
                      for (q, _), f, t in zip(queries, found.tolist(), truth_any.tolist())]
            entry = results[compression]
            entry.update({
                "vectors_per_occurrence": round(entry["bytes_vectors"] / occurrences, 1),
                "meta_per_occurrence": round(entry["bytes_meta"] / occurrences, 1),
                "total_per_occurrence": round((entry["bytes_vectors"] + entry["bytes_meta"]) / occurrences, 1),
                "same_word_top10_overlap": round(float(np.mean(same)), 4),
                "any_word_recall_at_10": round(float(np.mean(recall)), 4),
            })
            index.close()
    finally:
        remove(workdir)
    return {"benchmark": "size", "corpus": [str(c) for c in args.corpus], "documents": args.docs or "all",
            "chars_per_document": args.chars or "all", "sentences": len(sentences), "occurrences": occurrences,
            "queries": len(queries), "k": K, "reference": "flat (exact float32)", "compressions": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", default=[str(REPO / "corpora" / "inaugural")])
    parser.add_argument("--docs", type=int, default=0, help="First N files of each corpus folder (0: all).")
    parser.add_argument("--chars", type=int, default=0, help="Cut each file to N characters (0: whole).")
    parser.add_argument("--compressions", nargs="+", default=list(COMPRESSION_CHOICES), choices=COMPRESSION_CHOICES,
                        help="Which to measure; flat, the exact reference, is always built.")
    parser.add_argument("--queries", type=int, default=300, help="Query occurrences sampled for the overlaps.")
    parser.add_argument("--seed", type=int, default=0)
    logging.basicConfig(level=logging.WARNING)
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
