"""Index speed through a TF Hub SavedModel (`tfhub:`) against the transformers path, same weights, one run.

Both index the same corpus sample into flat indexes (rounds alternate, the best round of each
counts) and are rated in word pieces per second of `add`; the stored vectors of the two indexes are
compared too. Without --savedmodel, the bundled MiniLM is exported as a TF Hub SavedModel first.
Needs the `sensesearch[tf]` extra.

    python benchmarks/bench_tfhub.py                          # 4 inaugural speeches
    python benchmarks/bench_tfhub.py --docs 1 --chars 1500     # smoke size
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, emit, remove, rss_mb, subsample_corpus

from sensesearch.config import DEFAULT_MODEL
from sensesearch.index import SenseIndex


def index_once(model: str, corpus: Path, folder: Path) -> tuple[float, int, np.ndarray]:
    """(seconds of `add`, word pieces, stored vectors in id order) for one fresh flat index."""
    remove(folder)
    with SenseIndex.create(folder, model, compression="flat") as index:
        report = index.add([str(corpus)])
        vectors = index.vectors.reconstruct(index.vectors.sorted_ids())
    return report.seconds, report.word_pieces, vectors


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-tfhub-"))
    try:
        corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "corpus", args.docs, args.chars)
        savedmodel = args.savedmodel
        if savedmodel is None:
            from sensesearch.tfhub_export import export_tfhub_bert

            savedmodel = export_tfhub_bert(DEFAULT_MODEL, workdir / "savedmodel")
        models = {"transformers": DEFAULT_MODEL, "tfhub": f"tfhub:{savedmodel}"}
        best = dict.fromkeys(models, float("inf"))
        pieces: dict[str, int] = {}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for name, model in models.items():
                seconds, pieces[name], vectors[name] = index_once(model, corpus, workdir / name)
                best[name] = min(best[name], seconds)
        if pieces["tfhub"] != pieces["transformers"]:
            raise SystemExit(f"the two paths tokenised differently: {pieces}")
        rate = {name: round(pieces[name] / best[name], 1) for name in models}
        return {
            "benchmark": "tfhub", "word_pieces": pieces["tfhub"], "occurrences": int(len(vectors["tfhub"])),
            "seconds_best": {k: round(v, 3) for k, v in best.items()}, "pieces_per_s": rate,
            "ratio_tfhub_vs_transformers": round(rate["tfhub"] / rate["transformers"], 3),
            "max_abs_diff": float(np.abs(vectors["tfhub"] - vectors["transformers"]).max()),
            "min_cosine": float((vectors["tfhub"] * vectors["transformers"]).sum(axis=1).min()),
            "rounds": args.rounds, "peak_rss_mb": rss_mb(),
        }
    finally:
        remove(workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", default=[str(REPO / "corpora" / "inaugural")])
    parser.add_argument("--docs", type=int, default=4, help="files per corpus folder (0 = all)")
    parser.add_argument("--chars", type=int, default=0, help="cut each file to this many characters (0 = whole)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--savedmodel", type=Path, default=None, help="a TF Hub BERT SavedModel with the MiniLM's weights")
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
