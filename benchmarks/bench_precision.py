"""Accuracy cost of int8: nearest-sense-centroid accuracy on the CoarseWSD-20 development split.

Needs the split written by `python3 ../shared/tools/split_coarsewsd.py /tmp/cwsd` (train/ and test/
per word). Both precisions encode the same sampled sentences; the encode time of each is reported too.

    python benchmarks/bench_precision.py --data /tmp/cwsd                  # 100 train + 40 test per word
    python benchmarks/bench_precision.py --data /tmp/cwsd --words 2 --train 10 --test 5   # smoke
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import emit

from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.query import words_in_span

Example = tuple[str, int, int, int]
"""(sentence, target start, target end, gold sense)."""


def read_split(folder: Path, split: str, limit: int, seed: int) -> list[Example]:
    lines = (folder / f"{split}.data.txt").read_text(encoding="utf-8").splitlines()
    gold = (folder / f"{split}.gold.txt").read_text(encoding="utf-8").split()
    examples = []
    for line, sense in zip(lines, gold):
        position, sentence = line.split("\t", 1)
        tokens = sentence.split(" ")
        start = sum(len(t) + 1 for t in tokens[:int(position)])
        examples.append((sentence, start, start + len(tokens[int(position)]), int(sense)))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(examples), size=min(limit, len(examples)), replace=False)
    return [examples[i] for i in sorted(chosen)]


def target_vectors(encoder: TransformerEncoder, examples: list[Example]) -> np.ndarray:
    encoded = encoder.encode([e[0] for e in examples])
    rows = []
    for (_, start, end, _), enc in zip(examples, encoded):
        vector = enc.vectors[words_in_span(enc.spans, start, end)].mean(axis=0)
        rows.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
    return np.array(rows)


def centroid_accuracy(train: np.ndarray, train_gold: np.ndarray, test: np.ndarray, test_gold: np.ndarray) -> float:
    senses = np.unique(train_gold)
    centroids = np.array([train[train_gold == s].mean(axis=0) for s in senses])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    predicted = senses[np.argmax(test @ centroids.T, axis=1)]
    return float((predicted == test_gold).mean())


def run(args: argparse.Namespace) -> dict[str, Any]:
    words = sorted(p.name for p in (args.data / "train").iterdir() if p.is_dir())[: args.words or None]
    data = {w: (read_split(args.data / "train" / w, "train", args.train, args.seed),
                read_split(args.data / "test" / w, "test", args.test, args.seed)) for w in words}
    pieces = 0
    results: dict[str, Any] = {}
    for precision in ("float32", "int8"):
        encoder = TransformerEncoder(EncoderSettings(precision=precision))
        per_word, seconds = {}, 0.0
        for word, (train, test) in data.items():
            started = time.perf_counter()
            train_x, test_x = target_vectors(encoder, train), target_vectors(encoder, test)
            seconds += time.perf_counter() - started
            per_word[word] = round(100 * centroid_accuracy(train_x, np.array([e[3] for e in train]),
                                                           test_x, np.array([e[3] for e in test])), 2)
        if precision == "float32":
            pieces = sum(len(ids) for train, test in data.values() for ids in
                         encoder.tokenizer([e[0] for e in train + test], add_special_tokens=False)["input_ids"])
        results[precision] = {"mean_accuracy": round(float(np.mean(list(per_word.values()))), 2),
                              "encode_seconds": round(seconds, 2), "per_word": per_word}
    return {"benchmark": "precision", "data": str(args.data), "words": len(words), "train_per_word": args.train,
            "test_per_word": args.test, "word_pieces_per_precision": pieces, **results,
            "accuracy_change_points": round(results["int8"]["mean_accuracy"] - results["float32"]["mean_accuracy"], 2),
            "ratio_int8_vs_float32_speed": round(results["float32"]["encode_seconds"]
                                                 / max(results["int8"]["encode_seconds"], 1e-9), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/cwsd"), help="Output folder of split_coarsewsd.py.")
    parser.add_argument("--words", type=int, default=0, help="First N words alphabetically (0: all 20).")
    parser.add_argument("--train", type=int, default=100, help="Training sentences sampled per word.")
    parser.add_argument("--test", type=int, default=40, help="Test sentences sampled per word.")
    parser.add_argument("--seed", type=int, default=0)
    logging.basicConfig(level=logging.WARNING)
    args = parser.parse_args()
    if not (args.data / "train").is_dir():
        raise SystemExit(f"{args.data} holds no CoarseWSD-20 split: run split_coarsewsd.py first")
    emit(run(args))


if __name__ == "__main__":
    main()
