"""Measure sense separation: CoarseWSD-20 through a real SenseIndex, and WiC by a tuned cosine threshold.

CoarseWSD-20 goes through the product: each training sentence becomes a Document whose metadata
holds its gold sense and target span; the training vectors are read back from the index (so the
recipe and the vector compression are those a user gets), and each test usage is labelled by the
nearest sense centroid (the published 1NN method) or by a vote of its nearest labelled usages. The metrics and
classifiers are evalmetrics.py's.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import SenseIndex
from .config import EncoderSettings
from .corpus import content_hash
from .encoder import Encoder, load_encoder
from .errors import InputError, UsageError
from .evaldata import WicPair, WsdItem, WsdWord
from .evalmetrics import accuracy, best_threshold, macro_f1, majority_accuracy
from .evalmetrics import centroid_predict, knn_predict  # noqa: F401  (callers': tests and benchmarks)
from .parts import UsageSource
from .query import normalize_form
from .records import Document
from .tagging import DEFAULT_KNN, METHODS, classify, pick_word, target_vectors  # noqa: F401  (pick_word: callers')
from .visible import quoted

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


# ---- CoarseWSD-20 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class WordScore:
    """One word's result: test usages, accuracy and macro-F1 (percent), and the majority baseline."""

    accuracy: float
    n: int
    macro_f1: float
    majority_baseline: float
    n_train: int
    shared_with_train: int = 0
    """Test usages whose sentence is also a training sentence of the word (a leak that inflates accuracy)."""


@dataclass(frozen=True)
class WsdReport:
    """The CoarseWSD-20 figures as `eval coarsewsd --json` prints them."""

    mean_accuracy: float
    overall_accuracy: float
    macro_f1: float
    per_word: dict[str, WordScore]
    model: str
    layers: list[int]
    combine: str
    pooling: str
    method: str
    k: int | None
    compression: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    train: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    max_train: int | None = None
    max_test: int | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """What was measured, in a few words: method, recipe, compression and subsample."""
        sample = ", ".join(f"{name} at most {limit} a word" for name, limit in (("training", self.max_train),
                                                                               ("test", self.max_test)) if limit)
        return (f"{self.method}{f', k={self.k}' if self.k else ''}; {self.model}, layers {self.layers}, "
                f"{self.combine}, pooling {self.pooling}, {self.compression}"
                + (f"; {sample}, seed {self.seed}" if sample else ""))


def shared_sentences(train: WsdWord, test: WsdWord) -> int:
    """Test usages of a word whose sentence (and target) is also one of its training usages: a test set that
    overlaps the training one measures memory, not disambiguation (1-NN scores 100)."""
    seen = {_usage_key(item) for item in train.items}
    return sum(_usage_key(item) in seen for item in test.items)


def _usage_key(item: WsdItem) -> tuple[str, int, int]:
    """A usage as the leak checks compare it: its sentence (white space around it aside) and the target's span."""
    return item.text.strip(), item.start, item.end


def training_documents(words: dict[str, WsdWord]) -> list[Document]:
    """One Document per training sentence; metadata carries the gold sense and the target span."""
    return [Document(key=f"coarsewsd/{w}/{i}", label=f"{w}/{i}", path=data.source, text=item.text,
                     content_hash=content_hash(item.text), meta={"sense": item.sense, "target": [item.start, item.end]})
            for w, data in words.items() for i, item in enumerate(data.items)]


def labelled_usages(index: UsageSource, data: WsdWord) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Occurrence ids, stored vectors and gold senses of one word's training targets, via the same-word lookup."""
    found_ids, vectors, labels = [], [], []
    for form in sorted({normalize_form(item.text[item.start:item.end]) for item in data.items}):
        ids, stored = index.word_vectors(form)
        for hit, vector in zip(index.hits(ids.tolist()), stored):
            target = hit.meta.get("target")
            if target and "sense" in hit.meta and hit.doc_start < target[1] and hit.doc_start + len(hit.word) > target[0]:
                found_ids.append(hit.occurrence_id)
                vectors.append(vector)
                labels.append(str(hit.meta["sense"]))
    if len(labels) < len(data.items):
        log.warning("%s: %d of %d training targets were not found as index words", data.word,
                    len(data.items) - len(labels), len(data.items))
    if not labels:
        raise InputError(f"no training usage of {data.word!r} was found in the index")
    return np.asarray(found_ids, dtype=np.int64), np.stack(vectors), labels


def evaluate_coarsewsd(train: dict[str, WsdWord], test: dict[str, WsdWord], settings: EncoderSettings,
                       method: str = "centroid", k: int = DEFAULT_KNN, compression: str = "sq8",
                       device: str | None = None, progress: Progress | None = None,
                       encoder: Encoder | None = None) -> WsdReport:
    """Index the training usages in a temporary SenseIndex and label every test usage."""
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    missing = sorted(set(test) - set(train))
    if missing:
        raise InputError(f"no training data for {quoted(missing)}")
    # A word without test usages had scored 0.00 and pulled the mean accuracy down; one without training usages
    # failed only after the model had loaded and every other word was indexed.
    for split, words in (("test", test), ("training", {w: train[w] for w in test})):
        empty = [data.source for data in words.values() if not data.items]
        if empty:
            raise InputError(f"no {split} usages in {quoted(empty)}: leave the word out with --words")
    started = time.perf_counter()
    per_word: dict[str, WordScore] = {}
    all_gold: list[str] = []
    all_predicted: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sensesearch-eval-") as folder:
        with SenseIndex.create(folder, settings=settings, compression=compression, device=device,
                               encoder=encoder) as index:
            if progress:
                progress(f"indexing {sum(len(w.items) for w in train.values())} training sentences")
            index.add_documents(training_documents({w: train[w] for w in test}))
            for word, data in test.items():
                if progress:
                    progress(f"labelling {len(data.items)} test usages of {word}")
                _, vectors, labels = labelled_usages(index, train[word])
                queries = target_vectors(index.encoder, data.items)
                predicted = classify(vectors, labels, queries, method, k).labels()
                gold = [item.sense for item in data.items]
                shared = shared_sentences(train[word], data)
                if shared:
                    log.warning("%s: %d of the %d test usages are also training usages; the figures overstate "
                                "accuracy (are TRAIN and TEST the same split?)", word, shared, len(data.items))
                per_word[word] = WordScore(accuracy=round(accuracy(gold, predicted), 2), n=len(gold),
                                           macro_f1=round(macro_f1(gold, predicted), 2),
                                           majority_baseline=round(majority_accuracy(labels, gold), 2),
                                           n_train=len(labels), shared_with_train=shared)
                all_gold += [f"{word}:{g}" for g in gold]
                all_predicted += [f"{word}:{p}" for p in predicted]
    scores = list(per_word.values())
    return WsdReport(
        mean_accuracy=round(float(np.mean([s.accuracy for s in scores])), 2) if scores else 0.0,
        overall_accuracy=round(accuracy(all_gold, all_predicted), 2),
        macro_f1=round(float(np.mean([s.macro_f1 for s in scores])), 2) if scores else 0.0,
        per_word=per_word, model=settings.model, layers=list(settings.layers), combine=settings.combine,
        pooling=settings.pooling, method=method, k=k if method == "knn" else None, compression=compression,
        seconds=round(time.perf_counter() - started, 1),
        notes=["macro_f1 is the mean over words of each word's macro-F1 over its senses"],
        train=[train[w].source for w in test], test=[test[w].source for w in test],
        max_train=_one_value([train[w].limit for w in test]), max_test=_one_value([w.limit for w in test.values()]),
        seed=_one_value([train[w].seed for w in test] + [w.seed for w in test.values()]) or 0)


def _one_value(values: Sequence[Any]) -> Any:
    """The value all of `values` share (None when they differ or there are none)."""
    return values[0] if values and all(v == values[0] for v in values) else None


# ---- WiC -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WicReport:
    """The WiC figures as `eval wic --json` prints them (accuracies in percent)."""

    accuracy: float
    threshold: float
    n: int
    tune_accuracy: float
    n_tune: int
    model: str
    layers: list[int]
    combine: str
    pooling: str
    seconds: float
    shared_pairs: int = 0
    """Test pairs that are also tuning pairs (the same two sentences and targets, in either order)."""
    tune: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pair_key(pair: WicPair) -> frozenset[tuple[str, int, int]]:
    return frozenset(_usage_key(u) for u in (pair.first, pair.second))


def pair_cosines(encoder: Encoder, pairs: Sequence[WicPair]) -> np.ndarray:
    """Cosine of the two target usages of each pair."""
    vectors = target_vectors(encoder, [u for pair in pairs for u in (pair.first, pair.second)])
    return np.einsum("ij,ij->i", vectors[0::2], vectors[1::2])


def evaluate_wic(tune: Sequence[WicPair], test: Sequence[WicPair], settings: EncoderSettings,
                 device: str | None = None, encoder: Encoder | None = None) -> WicReport:
    """Choose the cosine threshold on `tune`, report accuracy with it on `test`."""
    for name, pairs in (("tuning", tune), ("test", test)):
        if not pairs:
            raise InputError(f"no {name} pairs")
        if any(p.same is None for p in pairs):
            raise InputError(f"every {name} pair needs a gold label (T or F)")
    tuned = {_pair_key(p) for p in tune}
    shared = sum(_pair_key(p) in tuned for p in test)
    if shared:
        log.warning("%d of the %d test pairs are also tuning pairs; the accuracy overstates (does TUNE hold the "
                    "TEST file?)", shared, len(test))
    started = time.perf_counter()
    encoder = encoder or load_encoder(settings, device)
    threshold, tune_accuracy = best_threshold(pair_cosines(encoder, tune).tolist(), [bool(p.same) for p in tune])
    test_scores = pair_cosines(encoder, test)
    predicted = ["T" if s >= threshold else "F" for s in test_scores]
    gold = ["T" if p.same else "F" for p in test]
    return WicReport(accuracy=round(accuracy(gold, predicted), 2), threshold=round(threshold, 5), n=len(test),
                     tune_accuracy=round(tune_accuracy, 2), n_tune=len(tune), model=settings.model,
                     layers=list(settings.layers), combine=settings.combine, pooling=settings.pooling,
                     seconds=round(time.perf_counter() - started, 1), shared_pairs=shared,
                     tune=_sources(tune), test=_sources(test))


def _sources(pairs: Sequence[WicPair]) -> list[str]:
    """The files `pairs` were read from, in reading order, each once."""
    return list(dict.fromkeys(p.source for p in pairs if p.source))
