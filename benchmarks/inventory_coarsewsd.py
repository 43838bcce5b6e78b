"""CoarseWSD-20 dev accuracy two ways: `eval coarsewsd` and the sense inventory path; prints one JSON line.

eval indexes the training sentences and encodes the test targets; the inventory path indexes the test
sentences, defines the senses from the training items (`WordSenses.add_items`) and tags every usage.
Both use tagging.target_vectors and tagging.classify, so with exact vectors (flat) the figures must be
equal; "equal" says whether they are. The real model is slow on a shared CPU: subsample words/items.

Example: python benchmarks/inventory_coarsewsd.py --data /tmp/cwsd --words bank,crane,seal --train 40 --test 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)

from sensesearch.config import EncoderSettings
from sensesearch.encoder import load_encoder
from sensesearch.evaldata import read_coarsewsd
from sensesearch.evaluate import evaluate_coarsewsd
from sensesearch.sense_eval import inventory_accuracy, inventory_tags

THRESHOLDS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)
SPLITTER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "split_coarsewsd.py"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="output of split_coarsewsd.py (made in a temporary folder if absent)")
    ap.add_argument("--words", default="bank,crane,seal")
    ap.add_argument("--train", type=int, default=40, help="training items per word (subsample)")
    ap.add_argument("--test", type=int, default=20, help="test items per word (subsample)")
    ap.add_argument("--method", default="centroid")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--model", default=None, help="model id (default: the bundled MiniLM)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data
        if data is None:
            data = Path(scratch) / "cwsd"
            subprocess.run([sys.executable, str(SPLITTER), str(data)], check=True, capture_output=True)
        words = [w for w in args.words.split(",") if w]
        test = read_coarsewsd(data / "test", words, limit=args.test, seed=0)
        train = read_coarsewsd(data / "train", words, limit=args.train, seed=0)
        settings = EncoderSettings(model=args.model) if args.model else EncoderSettings()
        encoder = load_encoder(settings, None)
        started = time.perf_counter()
        report = evaluate_coarsewsd(train, test, settings, method=args.method, k=args.k, compression="flat",
                                    encoder=encoder)
        eval_s = time.perf_counter() - started
        started = time.perf_counter()
        inventory = inventory_accuracy(train, test, settings, method=args.method, k=args.k, compression="flat",
                                       encoder=encoder)
        inventory_s = time.perf_counter() - started
        eval_sq8 = evaluate_coarsewsd(train, test, settings, method=args.method, k=args.k, encoder=encoder)
        rows = [r for found in inventory_tags(train, test, settings, method=args.method, k=args.k,
                                              encoder=encoder).values() for r in found]
    curve = {}
    for threshold in THRESHOLDS:
        kept = [(g, p) for g, p, m in rows if m >= threshold]
        curve[str(threshold)] = {"coverage": round(100.0 * len(kept) / len(rows), 1),
                                 "accuracy_assigned": round(100.0 * sum(g == p for g, p in kept) / len(kept), 2)
                                 if kept else None}
    per_word_eval = {w: s.accuracy for w, s in report.per_word.items()}
    print(json.dumps({
        "words": words, "train_per_word": args.train, "test_per_word": args.test, "method": args.method,
        "k": args.k if args.method == "knn" else None, "model": settings.model,
        "eval_flat": per_word_eval, "inventory_flat": inventory, "equal": per_word_eval == inventory,
        "eval_mean_accuracy": report.mean_accuracy,
        "inventory_mean_accuracy": round(sum(inventory.values()) / len(inventory), 2),
        "eval_sq8_mean_accuracy": eval_sq8.mean_accuracy,
        "threshold_curve_sq8": curve,
        "seconds": {"eval": round(eval_s, 1), "inventory": round(inventory_s, 1)},
    }))


if __name__ == "__main__":
    main()
