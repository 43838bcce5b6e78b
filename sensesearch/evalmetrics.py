"""Scoring sense labels: accuracy, macro-F1 and the majority baseline, the two classifiers evaluation compares,
and the WiC cosine threshold. Pure functions on labels and arrays, shared by evaluate.py and sense_eval.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score

from .errors import InputError
from .tagging import DEFAULT_KNN, classify


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Percent of items where the prediction equals the gold label."""
    if not gold:
        return 0.0
    return 100.0 * sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-averaged F1 over the labels seen in gold or predictions, in percent."""
    if not gold:
        return 0.0
    return 100.0 * float(f1_score(list(gold), list(predicted), average="macro", zero_division=0))


def majority_accuracy(train: Sequence[str], test: Sequence[str]) -> float:
    """Accuracy of always answering the most frequent training sense (the baseline to beat)."""
    if not train:
        return 0.0
    most = Counter(train).most_common(1)[0][0]
    return accuracy(test, [most] * len(test))


def centroid_predict(train: np.ndarray, labels: Sequence[str], test: np.ndarray) -> list[str]:
    """Label of the nearest (cosine) sense centroid for each test row (sensesearch.tagging.classify)."""
    return classify(train, labels, test, "centroid").labels()


def knn_predict(train: np.ndarray, labels: Sequence[str], test: np.ndarray, k: int = DEFAULT_KNN) -> list[str]:
    """Majority label among the k most similar training rows (sensesearch.tagging.classify)."""
    return classify(train, labels, test, "knn", k).labels()


def best_threshold(scores: Sequence[float], same: Sequence[bool]) -> tuple[float, float]:
    """The cosine threshold (answer "same" at or above it) with the best accuracy, and that accuracy (%)."""
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(same, dtype=bool)
    if len(values) == 0:
        raise InputError("no scored pairs to tune a threshold on")
    order = np.argsort(values, kind="stable")
    values, truth = values[order], truth[order]
    # Cutting before position i answers "different" for the i lowest scores and "same" for the rest.
    false_below = np.concatenate([[0], np.cumsum(~truth)])
    true_from = np.concatenate([np.cumsum(truth[::-1])[::-1], [0]])
    correct = false_below + true_from
    cuts = [i for i in range(len(values) + 1) if i in (0, len(values)) or values[i - 1] < values[i]]
    best = max(cuts, key=lambda i: (correct[i], -abs(i - len(values) / 2)))
    if best == 0:
        threshold = values[0] - 1e-6
    elif best == len(values):
        threshold = values[-1] + 1e-6
    else:
        threshold = (values[best - 1] + values[best]) / 2
    return float(threshold), 100.0 * float(correct[best]) / len(values)
