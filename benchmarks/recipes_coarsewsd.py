"""Score many word-vector recipes on CoarseWSD-20 from ONE forward pass per sentence batch.

The encoder runs once with every hidden layer concatenated (layers 0..N, combine=concat); each
recipe (a layer set combined by sum, mean or concat) is then cut out of that vector. This equals
what the product computes for the recipe: pooling word pieces and combining layers are both
linear, and the encoder's final L2 normalisation only scales a word's whole vector, which a
cosine method ignores. Sentences are cut and targets located exactly as `eval coarsewsd` does,
on the same seeded subsample (--max-train / --max-test per word).

Usage: python benchmarks/recipes_coarsewsd.py TRAIN_DIR TEST_DIR [--max-train 150] [--max-test 50]
       [--words bank,crane] [--pooling mean] [--knn 5] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.evaldata import read_coarsewsd
from sensesearch.evaluate import accuracy, centroid_predict, knn_predict, macro_f1, majority_accuracy, target_vectors

log = logging.getLogger("recipes")


def recipes(n_layers: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """Recipe name -> (hidden-state indices, combination); index 0 is the embedding layer."""
    last = n_layers
    table: dict[str, tuple[tuple[int, ...], str]] = {
        "last4 sum (default)": (tuple(range(last - 3, last + 1)), "sum"),
        "last4 mean": (tuple(range(last - 3, last + 1)), "mean"),
        "last4 concat": (tuple(range(last - 3, last + 1)), "concat"),
        "last2 sum": ((last - 1, last), "sum"),
        "all 1..N sum": (tuple(range(1, last + 1)), "sum"),
        "all 0..N sum": (tuple(range(0, last + 1)), "sum"),
        "all 1..N concat": (tuple(range(1, last + 1)), "concat"),
    }
    for layer in range(0, last + 1):
        table[f"layer {layer}" + (" (last)" if layer == last else "")] = ((layer,), "sum")
    for start in range(1, last - 1):
        for stop in range(start + 2, min(start + 4, last + 1) + 1):
            if (tuple(range(start, stop)), "sum") not in table.values():
                table[f"layers {start}..{stop - 1} sum"] = (tuple(range(start, stop)), "sum")
    table["layers 2..4 concat"] = ((2, 3, 4), "concat")
    return table


def cut(all_layers: np.ndarray, hidden: int, layers: tuple[int, ...], combine: str) -> np.ndarray:
    parts = [all_layers[:, layer * hidden:(layer + 1) * hidden] for layer in layers]
    vectors = np.concatenate(parts, axis=1) if combine == "concat" else np.sum(parts, axis=0)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--max-train", type=int, default=150)
    parser.add_argument("--max-test", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", default=None)
    parser.add_argument("--pooling", default="mean", choices=("mean", "first"))
    parser.add_argument("--knn", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    words = args.words.split(",") if args.words else None
    test = read_coarsewsd(args.test, words, limit=args.max_test, seed=args.seed)
    train = read_coarsewsd(args.train, list(test), limit=args.max_train, seed=args.seed)
    probe = TransformerEncoder(EncoderSettings(layers=(-1,)))
    n_layers, hidden = probe.model.config.num_hidden_layers, probe.model.config.hidden_size
    del probe
    encoder = TransformerEncoder(EncoderSettings(layers=tuple(range(n_layers + 1)), combine="concat",
                                                 pooling=args.pooling))
    started = time.perf_counter()
    encoded = {}
    for word in test:
        encoded[word] = (target_vectors(encoder, train[word].items), target_vectors(encoder, test[word].items))
        log.info("encoded %s (%d + %d usages)", word, len(train[word].items), len(test[word].items))
    encode_seconds = time.perf_counter() - started

    results = []
    for name, (layers, combine) in recipes(n_layers).items():
        for method in ("centroid", f"knn{args.knn}"):
            per_word, gold_all, pred_all = {}, [], []
            for word in test:
                train_labels = [item.sense for item in train[word].items]
                gold = [item.sense for item in test[word].items]
                x_train = cut(encoded[word][0], hidden, layers, combine)
                x_test = cut(encoded[word][1], hidden, layers, combine)
                predicted = (centroid_predict(x_train, train_labels, x_test) if method == "centroid"
                             else knn_predict(x_train, train_labels, x_test, args.knn))
                per_word[word] = (accuracy(gold, predicted), macro_f1(gold, predicted))
                gold_all += [f"{word}:{g}" for g in gold]
                pred_all += [f"{word}:{p}" for p in predicted]
            results.append({"recipe": name, "layers": list(layers), "combine": combine, "pooling": args.pooling,
                            "method": method,
                            "mean_accuracy": round(float(np.mean([a for a, _ in per_word.values()])), 2),
                            "overall_accuracy": round(accuracy(gold_all, pred_all), 2),
                            "macro_f1": round(float(np.mean([f for _, f in per_word.values()])), 2)})
    baseline = np.mean([majority_accuracy([i.sense for i in train[w].items], [i.sense for i in test[w].items])
                        for w in test])
    results.sort(key=lambda r: -r["mean_accuracy"])
    print(f"{len(test)} words, <= {args.max_train} train / {args.max_test} test usages each (seed {args.seed}); "
          f"pooling {args.pooling}; majority-sense baseline mean accuracy {baseline:.2f}; "
          f"encoding took {encode_seconds:.0f} s")
    print(f"{'recipe':<24} {'layers':<16} {'method':<9} {'mean acc':>8} {'overall':>8} {'macro-F1':>8}")
    for r in results:
        print(f"{r['recipe']:<24} {','.join(map(str, r['layers'])):<16} {r['method']:<9} "
              f"{r['mean_accuracy']:>8.2f} {r['overall_accuracy']:>8.2f} {r['macro_f1']:>8.2f}")
    if args.out:
        args.out.write_text(json.dumps({"baseline_mean_accuracy": round(float(baseline), 2),
                                        "encode_seconds": round(encode_seconds, 1), "results": results}, indent=2))


if __name__ == "__main__":
    main()
