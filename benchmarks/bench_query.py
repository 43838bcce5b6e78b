"""Query latency: same-word queries on a real index vs encoding the query alone; any-word ANN at scale.

Part 1 indexes both bundled corpora (or a subsample) with the real model and times `SenseIndex.query`
on sentences taken from the corpus, against `encoder.encode` of the same sentence alone.
Part 1b measures search and metadata on the full-size index (random vectors of the right shape).
Part 2 fills a synthetic index (clustered random unit vectors), lets the store pick and rebuild its
layout by size exactly as `SenseIndex.add` does, and times single any-word queries against exact search.

    python benchmarks/bench_query.py                                   # both corpora, 2 M synthetic
    python benchmarks/bench_query.py --docs 1 --chars 4000 --scale-docs 1 --synthetic 20000 --queries 20  # smoke
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, StandInEncoder, emit, remove, rss_mb, subsample_corpus

from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.index import SenseIndex
from sensesearch.query import normalize_form
from sensesearch.vectors import VectorStore

K = 10
DIM = 384
CHUNK = 200_000


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def same_word(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "corpus", args.docs, args.chars)
    encoder = TransformerEncoder(EncoderSettings())
    started = time.perf_counter()
    with SenseIndex.create(workdir / "index", encoder=encoder) as index:
        index.add([corpus])
    build_seconds = time.perf_counter() - started
    with SenseIndex.open(workdir / "index", read_only=True, encoder=encoder) as index:
        n = index.vectors.ntotal
        rng = np.random.default_rng(args.seed)
        hits = index.hits(rng.choice(index.vectors.sorted_ids(), size=min(args.queries, n), replace=False).tolist())
        texts = [h.sentence[:h.start] + "[[" + h.word + "]]" + h.sentence[h.end:] for h in hits]
        index.query(texts[0])
        query_s, encode_s, usages = [], [], []
        for hit, text in zip(hits, texts):
            t = time.perf_counter()
            encoder.encode([hit.sentence])
            encode_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.query(text, k=K)
            query_s.append(time.perf_counter() - t)
            usages.append(len(index.store.occurrence_ids(normalize_form(hit.word))))
        query, encode = percentiles(query_s), percentiles(encode_s)
        return {"occurrences": n, "index_type": index.vectors.describe(), "build_seconds": round(build_seconds, 1),
                "queries": len(texts), "query": query, "encode_alone": encode,
                "median_usages_per_query_word": int(np.median(usages)),
                "ratio_p50_query_vs_encode": round(query["p50_ms"] / max(encode["p50_ms"], 1e-9), 3)}


def same_word_at_scale(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Search and metadata cost on the full-size index, added per query to the real encoding time.

    Building a 0.5 M-occurrence index with the model takes hours on a busy 2-core machine; the
    search side does not depend on what the vectors say, so random vectors of the right shape
    measure it, and the model's part is timed on the same sentences separately.
    """
    encoder = TransformerEncoder(EncoderSettings())
    stub = StandInEncoder(encoder, args.seed)
    corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "scale-corpus", args.scale_docs, 0)
    started = time.perf_counter()
    with SenseIndex.create(workdir / "scale", encoder=stub) as index:
        index.add([corpus])
    build_seconds = time.perf_counter() - started
    with SenseIndex.open(workdir / "scale", read_only=True, encoder=stub) as index:
        rng = np.random.default_rng(args.seed)
        hits = index.hits(rng.choice(index.vectors.sorted_ids(), size=args.queries, replace=False).tolist())
        texts = [h.sentence[:h.start] + "[[" + h.word + "]]" + h.sentence[h.end:] for h in hits]
        index.query(texts[0])
        search_s, encode_s, usages = [], [], []
        for hit, text in zip(hits, texts):
            t = time.perf_counter()
            index.query(text, k=K)
            search_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            encoder.encode([hit.sentence])
            encode_s.append(time.perf_counter() - t)
            usages.append(len(index.store.occurrence_ids(normalize_form(hit.word))))
        total = [e + s for e, s in zip(encode_s, search_s)]
        return {"occurrences": index.vectors.ntotal, "index_type": index.vectors.describe(),
                "build_seconds_random_vectors": round(build_seconds, 1), "queries": len(texts),
                "search_and_metadata": percentiles(search_s), "encode_alone": percentiles(encode_s),
                "query_total": percentiles(total), "median_usages_per_query_word": int(np.median(usages)),
                "max_usages_per_query_word": int(np.max(usages)),
                "ratio_p50_total_vs_encode": round(float(np.median(total) / np.median(encode_s)), 3)}


def clustered(first: int, count: int, centers: np.ndarray, seed: int) -> np.ndarray:
    """Vectors first..first+count of the synthetic set (deterministic per chunk, so it can be regenerated)."""
    rng = np.random.default_rng([seed, first])
    x = centers[rng.integers(0, len(centers), count)] + rng.standard_normal((count, DIM), dtype=np.float32) * 0.06
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def any_word(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    centers = rng.standard_normal((args.clusters, DIM), dtype=np.float32) / np.sqrt(DIM)
    queries = clustered(10**12, args.queries, centers, args.seed)
    store = VectorStore.create(DIM, args.compression)
    started = time.perf_counter()
    best_scores = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), K), dtype=np.int64)
    for first in range(0, args.synthetic, CHUNK):
        x = clustered(first, min(CHUNK, args.synthetic - first), centers, args.seed)
        ids = np.arange(first, first + len(x), dtype=np.int64)
        store.add(ids, x)
        scores = np.concatenate([best_scores, queries @ x.T], axis=1)
        pool = np.concatenate([best_ids, np.broadcast_to(ids, (len(queries), len(ids)))], axis=1)
        top = np.argsort(-scores, axis=1)[:, :K]
        best_scores, best_ids = np.take_along_axis(scores, top, 1), np.take_along_axis(pool, top, 1)
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if store.needs_rebuild(args.compression):
        store = store.rebuilt(args.compression)
    rebuild_seconds = time.perf_counter() - started
    store.save(workdir / "synthetic.faiss")
    file_bytes = (workdir / "synthetic.faiss").stat().st_size
    result: dict[str, Any] = {"vectors": args.synthetic, "dim": DIM, "clusters": args.clusters,
                              "index_type": store.describe(), "fill_seconds": round(fill_seconds, 1),
                              "rebuild_seconds": round(rebuild_seconds, 1), "peak_rss_mb": rss_mb(),
                              "file_bytes_per_vector": round(file_bytes / args.synthetic, 1)}
    default = store.ivf.nprobe if store.ivf is not None else None
    sweep = sorted({max(1, default // 2), default, default * 2}) if default else [None]
    for nprobe in sweep:
        latencies, recalls = [], []
        for q, truth in zip(queries, best_ids):
            t = time.perf_counter()
            _, found = store.search(q[None, :], K, nprobe=nprobe)
            latencies.append(time.perf_counter() - t)
            recalls.append(len(set(found[0].tolist()) & set(truth.tolist())) / K)
        entry = {**percentiles(latencies), "recall_at_10": round(float(np.mean(recalls)), 4)}
        if nprobe == default:
            result.update(entry)
        result.setdefault("nprobe_sweep", {})[str(nprobe)] = entry
    result["nprobe"] = default
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-query-"))
    try:
        return {"benchmark": "query", "corpus": [str(c) for c in args.corpus], "documents": args.docs or "all",
                "chars_per_document": args.chars or "all", "same_word": same_word(args, workdir),
                "same_word_full_size": same_word_at_scale(args, workdir),
                "any_word_synthetic": any_word(args, workdir)}
    finally:
        remove(workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+",
                        default=[str(REPO / "corpora" / "inaugural"), str(REPO / "corpora" / "state_union")])
    parser.add_argument("--docs", type=int, default=0, help="First N files of each corpus folder (0: all).")
    parser.add_argument("--chars", type=int, default=0, help="Cut each file to N characters (0: whole).")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scale-docs", type=int, default=0,
                        help="Files per corpus folder for the full-size same-word index (0: all).")
    parser.add_argument("--synthetic", type=int, default=2_000_000, help="Vectors in the synthetic any-word index.")
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--compression", default="sq8")
    parser.add_argument("--seed", type=int, default=0)
    logging.basicConfig(level=logging.WARNING)
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
