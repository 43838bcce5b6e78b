"""Time `induce_senses` on a word with many usages (default 50,000) in a real index.

The model plays no part once vectors are stored, so a synthetic encoder (registered under the
"synthetic:" model prefix, 384 dimensions like MiniLM) writes usages of "bank" whose vectors lie
around one of three sense centres, with context words drawn from each sense's vocabulary.
What is timed is everything `senses` does: reading ids and vectors, choosing k, clustering,
fetching every usage's row, keywords, examples and the 2-D projection.

Usage: python benchmarks/senses_scale.py [--usages 50000] [--k N]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score

from sensesearch import Document, SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.encoder import ENCODER_FACTORIES
from sensesearch.records import EncodedSentence
from sensesearch.senses import induce_senses

DIM = 384
VOCABULARIES = (["loan", "money", "cash", "interest", "savings", "deposit"],
                ["river", "muddy", "grassy", "stream", "water", "fishing"],
                ["blood", "donor", "plasma", "hospital", "transfusion", "frozen"])


class SyntheticEncoder:
    """Word vectors: a hashed random vector per word; "bank" sits near the centre of its context's sense."""

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings
        self.dim = DIM
        self.fingerprint = "synthetic-1"
        self.centres = np.random.default_rng(7).standard_normal((len(VOCABULARIES), DIM))
        self.rng = np.random.default_rng(11)

    @staticmethod
    def _hashed(word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(DIM)

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        out = []
        for sentence in sentences:
            words = sentence.rstrip(".").split(" ")
            spans, vectors, offset = [], [], 0
            sense = next(i for i, vocab in enumerate(VOCABULARIES) if words[0] in vocab)
            for word in words:
                spans.append((offset, offset + len(word)))
                offset += len(word) + 1
                vector = (self.centres[sense] + 0.9 * self.rng.standard_normal(DIM) if word == "bank"
                          else self._hashed(word))
                vectors.append(vector / np.linalg.norm(vector))
            out.append(EncodedSentence(spans=np.asarray(spans, dtype=np.int32),
                                       vectors=np.asarray(vectors, dtype=np.float32), n_pieces=len(words)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--usages", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=None)
    args = parser.parse_args()
    ENCODER_FACTORIES["synthetic"] = lambda settings, device: SyntheticEncoder(settings)
    rng = np.random.default_rng(3)
    truth = rng.integers(0, len(VOCABULARIES), args.usages)
    lines = []
    for sense in truth:
        a, b, c = rng.choice(VOCABULARIES[sense], 3, replace=False)
        lines.append(f"{a} {b} bank {c}.")
    text = "\n\n".join(lines)
    with tempfile.TemporaryDirectory() as folder:
        with SenseIndex.create(folder, settings=EncoderSettings(model="synthetic:bank")) as index:
            started = time.perf_counter()
            index.add_documents([Document(key="synthetic", label="synthetic", path="synthetic", text=text,
                                          content_hash="synthetic")])
            print(f"built an index with {args.usages:,} usages of 'bank' in {time.perf_counter() - started:.0f} s")
        with SenseIndex.open(folder, read_only=True) as index:
            started = time.perf_counter()
            report = induce_senses(index, "bank", k=args.k)
            seconds = time.perf_counter() - started
    predicted = [a.sense for a in sorted(report.assignments, key=lambda a: a.occurrence_id)]
    print(f"induce_senses: {seconds:.1f} s for {report.n_usages:,} usages; k={len(report.senses)} "
          f"({report.chosen_by}); ARI against the planted senses {adjusted_rand_score(truth, predicted):.3f}")
    print(f"method: {report.method}")
    for group in report.senses:
        print(f"  sense {group.sense}: {group.size:,} usages, keywords {', '.join(group.keywords)}")


if __name__ == "__main__":
    main()
