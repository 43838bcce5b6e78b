"""--where filters: p50 latency of a same-word query with metadata/path conditions vs without (issue 14).

Builds a synthetic index through the real ingest path (SenseIndex.add_documents): Zipf-distributed
words in documents that carry a year, a party and a path, with random unit vectors from a stub
encoder (the search side does not depend on what the vectors say, and a stub keeps the query's
own encoding out of the figure, so the ratio is the strictest one: search and metadata only).
Then it times `SenseIndex.query` on frequent words, interleaving the unfiltered query with each
filtered one, and reports p50/p95 and the filtered/unfiltered p50 ratio (issue 14 asks <= 1.5).

    python benchmarks/bench_where.py                                  # 1 M occurrences
    python benchmarks/bench_where.py --occurrences 20000 --queries 10  # smoke
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import emit, remove, rss_mb

from sensesearch.config import EncoderSettings
from sensesearch.errors import WordNotFoundError
from sensesearch.conditions import parse_conditions
from sensesearch.index import SenseIndex
from sensesearch.query import normalize_form
from sensesearch.records import Document, EncodedSentence

DIM = 128
K = 10
WORDS_PER_SENTENCE = 20
PARTIES = ("Democratic", "Republican", "Whig")
FILTERS: dict[str, list[str]] = {
    "year_range": ["year>=1900", "year<1990"],
    "year_and_party": ["year>=1900", "party=Democratic"],
    "path_glob": ["path=corpus/19*"],
    "one_decade": ["year>=1950", "year<1960"],
}
_WORD = re.compile(r"\w+")


class StubEncoder:
    """Word spans by \\w+ and random unit vectors: an index of the right shape without a model."""

    def __init__(self, seed: int) -> None:
        self.settings = EncoderSettings(model="stub:random")
        self.dim = DIM
        self.fingerprint = "stub-random"
        self.rng = np.random.default_rng(seed)

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        out = []
        for sentence in sentences:
            spans = np.array([m.span() for m in _WORD.finditer(sentence)], dtype=np.int32).reshape(-1, 2)
            x = self.rng.standard_normal((len(spans), DIM), dtype=np.float32)
            out.append(EncodedSentence(spans, x / np.linalg.norm(x, axis=1, keepdims=True), len(spans)))
        return out


def documents(n_occurrences: int, per_document: int, vocabulary: int, seed: int) -> Iterator[Document]:
    """Synthetic documents: Zipf(1.0) words over `vocabulary` types, years 1790-2019, three parties."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocabulary + 1)
    weights /= weights.sum()
    for number in range(max(1, n_occurrences // per_document)):
        ranks = rng.choice(vocabulary, size=per_document, p=weights)
        words = [f"w{r}" for r in ranks]
        text = ". ".join(" ".join(words[i:i + WORDS_PER_SENTENCE])
                         for i in range(0, len(words), WORDS_PER_SENTENCE)) + "."
        year = int(rng.integers(1790, 2020))
        path = f"corpus/{year}-{number}.txt"
        yield Document(key=f"/synthetic/{path}", label=path, path=path, text=text, content_hash=str(number),
                       meta={"year": year, "party": PARTIES[int(rng.integers(0, 3))]})


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-where-"))
    try:
        encoder = StubEncoder(args.seed)
        started = time.perf_counter()
        with SenseIndex.create(workdir / "index", encoder=encoder, compression="sq8") as index:
            index.add_documents(documents(args.occurrences, args.per_document, args.vocabulary, args.seed))
        build_seconds = time.perf_counter() - started
        with SenseIndex.open(workdir / "index", read_only=True, encoder=encoder) as index:
            info = index.info()
            # Frequent words: Zipf ranks 10..59, each with about 0.2-1 % of all occurrences.
            words = [f"w{r}" for r in range(10, 60)]
            rng = np.random.default_rng(args.seed)
            chosen = [words[i] for i in rng.integers(0, len(words), args.queries)]
            texts = [f"a b c [[{w}]] d e f" for w in chosen]
            index.query(texts[0], k=K)
            timings: dict[str, list[float]] = {"unfiltered": [], **{name: [] for name in FILTERS}}
            sql: dict[str, list[float]] = {name: [] for name in timings}
            candidates: dict[str, list[int]] = {name: [] for name in timings}
            for word, text in zip(chosen, texts):
                for name in timings:
                    where = FILTERS.get(name, [])
                    t = time.perf_counter()
                    try:
                        index.query(text, k=K, where=where)
                    except WordNotFoundError:  # a tiny smoke index may lack the word in a narrow subcorpus
                        pass
                    timings[name].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    found = index.store.occurrence_ids(normalize_form(word), where=parse_conditions(where))
                    sql[name].append(time.perf_counter() - t)
                    candidates[name].append(len(found))
            base = float(np.median(timings["unfiltered"]))
            result: dict[str, Any] = {
                "benchmark": "where", "occurrences": info.occurrences, "documents": info.documents,
                "words": info.words, "dim": DIM, "index_type": index.vectors.describe(),
                "build_seconds": round(build_seconds, 1), "queries_per_case": args.queries,
                "peak_rss_mb": rss_mb(), "cases": {}}
            for name, seconds in timings.items():
                result["cases"][name] = {
                    "where": FILTERS.get(name, []), "query": percentiles(seconds),
                    "candidate_sql": percentiles(sql[name]),
                    "median_candidates": int(np.median(candidates[name])),
                    "ratio_p50_vs_unfiltered": round(float(np.median(seconds)) / base, 3)}
            result["max_ratio_p50_filtered_vs_unfiltered"] = max(
                c["ratio_p50_vs_unfiltered"] for n, c in result["cases"].items() if n != "unfiltered")
            result["median_usages_unfiltered"] = int(np.median(
                [len(index.store.occurrence_ids(normalize_form(w))) for w in chosen]))
            return result
    finally:
        remove(workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, default=1_000_000)
    parser.add_argument("--per-document", type=int, default=200, help="Occurrences per synthetic document.")
    parser.add_argument("--vocabulary", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    emit(run(args))


if __name__ == "__main__":
    main()
