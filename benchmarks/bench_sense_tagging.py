"""Time sense tagging of every usage of one word (default 100,000) in a real index; prints one JSON line.

Vectors come from the synthetic encoder of senses_scale.py ("bank" near one of three sense centres,
384 dimensions like MiniLM), so the index is built quickly and the planted senses give an accuracy.
Each sense is defined by 5 marked example sentences. Timed: classify alone (tagging.classify, centroid
and knn), a cold tag (read ids and vectors, classify, store the tags), a warm read in the same process,
a cached read by a new reader (tags from the store), and usages/documents by sense.

Example: python benchmarks/bench_sense_tagging.py --usages 100000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

import _common  # noqa: F401  (puts the repository on sys.path)
from senses_scale import VOCABULARIES, SyntheticEncoder

from sensesearch import Document, SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.encoder import ENCODER_FACTORIES
from sensesearch.tagging import classify

NAMES = ("finance", "river", "blood")


def timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--usages", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=100)
    args = parser.parse_args()
    ENCODER_FACTORIES["synthetic"] = lambda settings, device: SyntheticEncoder(settings)
    rng = np.random.default_rng(3)
    truth = rng.integers(0, len(VOCABULARIES), args.usages)
    lines = []
    for sense in truth:
        a, b, c = rng.choice(VOCABULARIES[sense], 3, replace=False)
        lines.append(f"{a} {b} bank {c}.")
    per_doc = -(-args.usages // args.documents)
    docs = [Document(key=f"d{i}", label=f"d{i}", path=f"d{i}", text="\n\n".join(lines[s:s + per_doc]),
                     content_hash=f"d{i}") for i, s in enumerate(range(0, args.usages, per_doc))]
    result: dict[str, object] = {"usages": args.usages, "documents": len(docs)}
    with tempfile.TemporaryDirectory() as folder:
        with SenseIndex.create(folder, settings=EncoderSettings(model="synthetic:bank")) as index:
            _, result["ingest_s"] = timed(lambda: index.add_documents(docs))
            for name, vocabulary in zip(NAMES, VOCABULARIES):
                index.sense("bank").add(name, [f"{vocabulary[i]} {vocabulary[i + 1]} [[bank]] {vocabulary[i - 1]}."
                                               for i in range(5)])
        with SenseIndex.open(folder, read_only=True) as index:
            tags, cold = timed(lambda: index.sense("bank").tags())
            _, warm = timed(lambda: index.sense("bank").tags())
            ids, vectors = index.word_vectors("bank")
            examples, labels = index.sense("bank").inventory().training()  # type: ignore[union-attr]
            _, centroid_s = timed(lambda: classify(examples, labels, vectors, "centroid"))
            _, knn_s = timed(lambda: classify(examples, labels, vectors, "knn", 5))
        with SenseIndex.open(folder, read_only=True) as index:
            cached_tags, cached = timed(lambda: index.sense("bank").tags())
            hits, usages_s = timed(lambda: index.sense("bank").usages("river", limit=100))
            found, documents_s = timed(lambda: index.sense("bank").documents("river", min_count=1))
    predicted = np.asarray([NAMES.index(tags.senses[s]) for s in tags.sense.tolist()])
    result.update({
        "accuracy": round(100.0 * float(np.mean(predicted == truth[np.argsort(tags.ids)])), 2),
        "cached_equal": cached_tags.sense.tolist() == tags.sense.tolist(),
        "seconds": {"tag_cold": round(cold, 3), "tag_warm": round(warm, 4), "tag_cached_new_reader": round(cached, 3),
                    "classify_centroid": round(centroid_s, 3), "classify_knn5": round(knn_s, 3),
                    "usages_by_sense_100": round(usages_s, 3), "documents_by_sense": round(documents_s, 3)},
        "usages_per_s_cold": round(args.usages / cold),
        "ratio_cold_vs_classify_centroid": round(cold / centroid_s, 1),
        "ratio_cached_vs_cold": round(cached / cold, 3),
        "river_documents": len(found), "river_hits": len(hits),
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
