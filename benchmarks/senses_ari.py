"""Adjusted Rand index of `senses` against CoarseWSD-20 gold senses, through a real index.

The usages of a few words (a seeded subsample of the dev split's train side) are indexed with
their gold sense as metadata; induce_senses clusters every usage of each word, and only the
labelled target usages are scored (a sentence may hold the word twice; the extra one has no gold).
Runs with k chosen automatically and with k = the number of gold senses.

Usage: python benchmarks/senses_ari.py TRAIN_DIR [--words bank,crane,bass,seal,spring]
       [--max 200] [--layers -4,-3,-2,-1] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings, parse_layers
from sensesearch.evaldata import read_coarsewsd
from sensesearch.evaluate import labelled_usages, training_documents
from sensesearch.senses import induce_senses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("--words", default="bank,crane,bass,seal,spring")
    parser.add_argument("--max", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", default="-4,-3,-2,-1")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    words = read_coarsewsd(args.train, args.words.split(","), limit=args.max, seed=args.seed)
    settings = EncoderSettings(layers=parse_layers(args.layers))
    rows = []
    with tempfile.TemporaryDirectory() as folder, SenseIndex.create(folder, settings=settings) as index:
        started = time.perf_counter()
        index.add_documents(training_documents(words))
        print(f"indexed {sum(len(w.items) for w in words.values())} sentences in {time.perf_counter() - started:.0f} s "
              f"(layers {args.layers})")
        for word, data in words.items():
            ids, _, labels = labelled_usages(index, data)
            gold = dict(zip(ids.tolist(), labels))
            n_gold = len(set(labels))
            for k in (None, n_gold):
                report = induce_senses(index, word, k=k, examples=0, seed=args.seed)
                predicted = {a.occurrence_id: a.sense for a in report.assignments}
                ari = adjusted_rand_score([gold[i] for i in gold], [predicted[i] for i in gold])
                rows.append({"word": word, "usages": len(gold), "gold_senses": n_gold,
                             "k": len(report.senses), "chosen_by": report.chosen_by, "ari": round(float(ari), 3),
                             "seconds": report.seconds,
                             "keywords": [list(g.keywords[:4]) for g in report.senses]})
                r = rows[-1]
                print(f"{word:<8} usages {r['usages']:>4}  gold senses {n_gold}  k {r['k']} ({r['chosen_by']:<10}) "
                      f"ARI {r['ari']:.3f}  {r['seconds']:.2f} s  {r['keywords']}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
