"""The sense classifier shared by `eval coarsewsd` and the sense inventory: labelled vectors in, tags out.

Two methods, both on unit vectors (inner product = cosine):
- centroid: the nearest sense centroid (mean of a sense's example vectors, renormalised), the 1-NN
  method of Loureiro & Jorge (LMMS, 2019) that CoarseWSD-20 (Loureiro et al., 2021) reports;
- knn: a vote of the k most similar examples; equal counts go to the larger summed cosine.
Each tag carries a margin, so a caller can leave doubtful usages unassigned instead of guessing.
Also here: the vector of a target span in a sentence, encoded the way the index cuts sentences,
so labelled examples and evaluation items are embedded by one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .arguments import whole_number
from .config import SENSE_METHODS
from .errors import InputError
from .evaldata import WsdItem, target_sentence
from .records import EncodedSentence

CLASSIFIER_VERSION = 3
"""Part of the tag cache key: raise it whenever classify() would tag differently, or its vectors change (2: a pq
index's usages are read as exact vectors, not decoded codes; 3: a usage two forms find is tagged once)."""
METHODS = SENSE_METHODS
DEFAULT_KNN = 5
ENCODE_CHUNK = 256
CLASSIFY_CHUNK = 16_384
"""Usages scored per matrix product: bounds memory at CLASSIFY_CHUNK x examples float32."""


class SentenceEncoder(Protocol):
    """What target_vectors needs from an encoder."""

    dim: int

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]: ...


@dataclass(frozen=True)
class Tags:
    """Classifier output for n usages.

    senses: the sense names, sorted; sense: (n,) int64 index into `senses` of each usage's nearest sense;
    margin: (n,) float32. centroid: cosine to the nearest centroid minus cosine to the runner-up (0..2);
    knn: the winner's share of the k votes minus the runner-up's share (0..1). With one sense the
    runner-up scores 0, so the margin is the cosine (centroid) or 1 (knn).
    """

    senses: list[str]
    sense: np.ndarray
    margin: np.ndarray

    def labels(self) -> list[str]:
        return [self.senses[i] for i in self.sense.tolist()]


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def check_method(method: str, k: int) -> None:
    """InputError unless `method` is one of METHODS; UsageError unless k is a whole number from 1 (a fraction reached
    NumPy's slicing as a TypeError)."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    whole_number(k, "k", least=1)


def knn_vote_problem(word: str, method: str, k: int | None, examples: int) -> str | None:
    """Why tagging `word` by `method` with `k` voters over `examples` examples gives every usage the same vote (knn
    with k at least the number of examples); None when it does not.

    One line for `sense config`, which refuses it, and for tagging, which warns of an inventory that came to it
    (examples removed since). With one example no k is below the count: "give k below 1" had asked for what -k
    refuses.
    """
    if method != "knn" or k is None or k < examples:
        return None
    voters = "its only example" if examples == 1 else f"all {examples} examples"
    remedy = f"give k below {examples}, or add examples" if examples > 1 else "add examples (knn needs at least 2)"
    return f"knn with k={k} lets {voters} of {word!r} vote on every usage, so every usage gets the same vote: {remedy}"


def classify(examples: np.ndarray, labels: Sequence[str], usages: np.ndarray, method: str = "centroid",
             k: int = DEFAULT_KNN) -> Tags:
    """Tag each row of `usages` (n, dim float32) with a sense from labelled `examples` (m, dim; m labels)."""
    check_method(method, k)
    if len(labels) != len(examples) or not len(labels):
        raise InputError(f"{len(examples)} example vectors with {len(labels)} labels; need one label each, and some")
    senses = sorted(set(labels))
    label_ids = np.searchsorted(np.asarray(senses), np.asarray(labels))
    train = np.asarray(examples, dtype=np.float32)
    # Stored and encoded vectors are unit length already; the centroid is the plain mean, renormalised.
    train = unit(np.stack([train[label_ids == s].mean(axis=0) for s in range(len(senses))])
                 if method == "centroid" else train)
    sense = np.zeros(len(usages), dtype=np.int64)
    margin = np.zeros(len(usages), dtype=np.float32)
    for start in range(0, len(usages), CLASSIFY_CHUNK):
        scores = unit(np.asarray(usages[start:start + CLASSIFY_CHUNK], dtype=np.float32)) @ train.T
        chunk = slice(start, start + len(scores))
        if method == "centroid":
            sense[chunk], margin[chunk] = _best_two(scores)
        else:
            sense[chunk], margin[chunk] = _vote(scores, label_ids, len(senses), k)
    return Tags(senses=senses, sense=sense, margin=margin)


def _best_two(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the highest score per row, and its lead over the second (over 0 with one column)."""
    best = np.argmax(scores, axis=1)
    top = scores[np.arange(len(scores)), best]
    if scores.shape[1] == 1:
        return best, top
    second = np.partition(scores, -2, axis=1)[:, -2]
    return best, top - second


def _vote(scores: np.ndarray, label_ids: np.ndarray, n_senses: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, scores.shape[1])
    rows = np.arange(len(scores))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    counts = np.zeros((len(scores), n_senses), dtype=np.float64)
    sums = np.zeros((len(scores), n_senses), dtype=np.float64)
    for j in range(k):
        counts[rows, label_ids[top[:, j]]] += 1
        sums[rows, label_ids[top[:, j]]] += scores[rows, top[:, j]]
    # Counts dominate; summed cosines (|sum| <= k) only break equal counts.
    best = np.argmax(counts * (2 * k + 1) + sums, axis=1)
    share = counts / k
    winner = share[rows, best]
    share[rows, best] = -1
    runner_up = np.maximum(share.max(axis=1), 0) if n_senses > 1 else np.zeros(len(scores))
    return best, (winner - runner_up).astype(np.float32)


def pick_word(spans: np.ndarray, start: int, end: int) -> int | None:
    """Row of the model word overlapping [start, end) the most (a token may split into several words)."""
    best, best_overlap = None, 0
    for row, (s, e) in enumerate(spans.tolist()):
        overlap = min(e, end) - max(s, start)
        if overlap > best_overlap:
            best, best_overlap = row, overlap
    return best


def target_vectors(encoder: SentenceEncoder, items: Sequence[WsdItem]) -> np.ndarray:
    """(n, dim) float32 unit vector of each item's target word, from its sentence as the index would cut it.

    InputError when a target overlaps no word the model reads.
    """
    located = [target_sentence(item) for item in items]
    vectors = np.zeros((len(items), encoder.dim), dtype=np.float32)
    for chunk_start in range(0, len(located), ENCODE_CHUNK):
        chunk = located[chunk_start:chunk_start + ENCODE_CHUNK]
        for offset, ((sentence, start, end), enc) in enumerate(zip(chunk, encoder.encode([s for s, _, _ in chunk]))):
            row = pick_word(enc.spans, start, end)
            if row is None:
                raise InputError(f"no model word at {sentence[start:end]!r} in {sentence[:60]!r}")
            vectors[chunk_start + offset] = enc.vectors[row]
    return vectors
