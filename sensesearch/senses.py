"""Sense induction: cluster every stored usage of a word, describe each cluster, draw them in 2-D.

It stays interactive on frequent words: the number of senses is chosen on a sample, and past
FIT_SAMPLE usages the centres come from mini-batch k-means; every usage is then assigned to its
nearest centre. The report says which of these shortcuts were taken.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score

from .arguments import check_seed, optional_number, whole_number
from .chartfonts import chart_fonts, save_png
from .errors import SenseCountError, StorageUnavailableError
from .conditions import Condition
from .parts import UsageSource
from .keywords import context_words, distinctive_words
from .records import Hit, reported_cosine

K_CHOICES = range(2, 9)
K_SAMPLE = 1000
FIT_SAMPLE = 5000
MAX_ITER = 100
KEYWORD_SAMPLE = 10_000
PLOT_POINTS = 4000


@dataclass(frozen=True)
class SenseGroup:
    """One induced sense: its number, how many usages it holds, typical usages and telling context words."""

    sense: int
    size: int
    examples: tuple[Hit, ...]
    keywords: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sense": self.sense, "size": self.size, "examples": [h.to_dict() for h in self.examples],
                "keywords": list(self.keywords)}


@dataclass(frozen=True)
class Assignment:
    """Which sense one usage was put in, and where the usage stands."""

    occurrence_id: int
    sense: int
    document: str
    sentence: str
    start: int
    end: int
    sentence_id: int
    path: str = ""
    """The file the usage came from (Hit.path): records of one id in two JSON Lines files share `document`."""


@dataclass(frozen=True, eq=False)
class SenseReport:
    """Senses of one word, every usage's sense, and a 2-D projection of (a sample of) the usages."""

    word: str
    n_usages: int
    senses: tuple[SenseGroup, ...]
    assignments: tuple[Assignment, ...]
    chosen_by: str
    """"given" (k asked for), "silhouette", "too few usages" (fewer than 3) or "no split" (no two groups found)."""
    method: str
    points: np.ndarray
    point_senses: np.ndarray
    silhouette: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "n_usages": self.n_usages, "k": len(self.senses), "chosen_by": self.chosen_by,
                "silhouette": {str(k): v for k, v in self.silhouette.items()}, "method": self.method,
                "seconds": self.seconds, "senses": [g.to_dict() for g in self.senses],
                "assignments": [a.__dict__.copy() for a in self.assignments]}


def _sample(n: int, limit: int, seed: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.asarray(random.Random(seed).sample(range(n), limit)))


def choose_k(vectors: np.ndarray, seed: int) -> tuple[int, dict[int, float]]:
    """The k in 2..8 with the best silhouette (cosine) on a sample of at most K_SAMPLE usages."""
    sample = vectors[_sample(len(vectors), K_SAMPLE, seed)]
    scores: dict[int, float] = {}
    for k in K_CHOICES:
        if k >= len(sample):
            break
        with warnings.catch_warnings():
            # Identical usages give fewer distinct clusters than asked; the check below handles that.
            warnings.simplefilter("ignore", ConvergenceWarning)
            labels = KMeans(n_clusters=k, n_init=1, max_iter=MAX_ITER, random_state=seed).fit_predict(sample)
        if len(set(labels.tolist())) < 2:
            break
        scores[k] = reported_cosine(silhouette_score(sample, labels, metric="cosine"), 4)
    if not scores:
        return 1, scores
    return max(scores, key=lambda k: scores[k]), scores


def cluster(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, str]:
    """Cluster label of every row, and a sentence saying how the centres were found."""
    n = len(vectors)
    if k == 1:
        return np.zeros(n, dtype=np.int64), "every usage in one sense"
    if n <= FIT_SAMPLE:
        model = KMeans(n_clusters=k, n_init=2, max_iter=MAX_ITER, random_state=seed).fit(vectors)
        how = f"k-means on all {n:,} usages"
    else:
        model = MiniBatchKMeans(n_clusters=k, n_init=1, batch_size=2048, random_state=seed).fit(vectors)
        how = f"mini-batch k-means on {n:,} usages (batches of 2,048)"
    return model.predict(vectors).astype(np.int64), how


def induce_senses(index: UsageSource, word: str, k: int | None = None, examples: int = 5,
                  documents: Sequence[str] | None = None, seed: int = 0, lemma: bool = False,
                  where: Sequence[Condition | str] = ()) -> SenseReport:
    """Group the stored usages of `word` into senses (k given, or chosen by silhouette over 2..8).

    `lemma` and `where` choose the usages as in SenseIndex.usages. UsageError for k that is not a whole number,
    `examples` not one from 0 or `seed` not one in 0..SEED_MAX (checked before the usages are read); SenseCountError
    for k below 1 or above the number of usages; WordNotFoundError when the word has none.
    """
    started = time.perf_counter()
    k = optional_number(k, "k")
    examples = whole_number(examples, "examples", least=0)
    seed = check_seed(seed)
    ids, vectors = index.word_vectors(word, documents=documents, lemma=lemma, where=where)
    n = len(ids)
    if k is not None and k < 1:
        raise SenseCountError(f"ask for at least 1 sense of {word!r}, not {k}")
    if k is not None and k > n:
        usages = "1 usage" if n == 1 else f"{n} usages"
        raise SenseCountError(f"{word!r} has only {usages}, too few for {k} senses: ask for between 1 and {n}")
    notes = []
    scores: dict[int, float] = {}
    if k is None:
        k, scores = choose_k(vectors, seed) if n >= 3 else (1, {})
        chosen_by = "silhouette" if scores else "too few usages" if n < 3 else "no split"
        notes.append(f"k={k} chosen by cosine silhouette over k=2..{max(scores)}"
                     + (f" on a sample of {K_SAMPLE:,} usages" if n > K_SAMPLE else "") if scores
                     else "too few usages to split" if n < 3 else "the usages do not fall into two groups")
    else:
        chosen_by = "given"
        notes.append(f"k={k} given")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels, how = cluster(vectors, k, seed)
    notes.append(how)
    # Largest sense first, numbered from 1; clusters left empty by the final assignment are dropped.
    sizes = np.bincount(labels, minlength=k)
    order = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] > 0]
    renumber = np.zeros(k, dtype=np.int64)
    renumber[order] = np.arange(1, len(order) + 1)
    labels = renumber[labels]
    hits = index.hits(ids.tolist(), word=word)
    if len(hits) != n:
        raise StorageUnavailableError("the index changed while reading; try again")
    groups = _describe(vectors, labels, hits, examples, seed, notes)
    plotted = _sample(n, PLOT_POINTS, seed)
    if n > PLOT_POINTS:
        notes.append(f"plot shows a sample of {PLOT_POINTS:,}")
    points = _project(vectors[plotted], seed)
    assignments = tuple(Assignment(occurrence_id=h.occurrence_id, sense=int(s), document=h.document,
                                   sentence=h.sentence, start=h.start, end=h.end, sentence_id=h.sentence_id,
                                   path=h.path)
                        for h, s in zip(hits, labels.tolist()))
    return SenseReport(word=word, n_usages=n, senses=groups, assignments=assignments, chosen_by=chosen_by,
                       method="; ".join(notes) + ".", points=points, point_senses=labels[plotted],
                       silhouette=scores, seconds=round(time.perf_counter() - started, 3))


def _describe(vectors: np.ndarray, labels: np.ndarray, hits: list[Hit], examples: int, seed: int,
              notes: list[str]) -> tuple[SenseGroup, ...]:
    senses = sorted(set(labels.tolist()))
    in_keywords = _sample(len(hits), KEYWORD_SAMPLE, seed)
    if len(hits) > KEYWORD_SAMPLE:
        notes.append(f"keywords from a sample of {KEYWORD_SAMPLE:,} usages")
    contexts = {int(i): context_words(hits[i]) for i in in_keywords}
    keywords = distinctive_words([[contexts[int(i)] for i in np.flatnonzero(labels == s) if int(i) in contexts]
                                  for s in senses])
    groups = []
    for sense, words in zip(senses, keywords):
        members = np.flatnonzero(labels == sense)
        centre = vectors[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        similarity = vectors[members] @ centre
        nearest = np.argsort(-similarity, kind="stable")[:examples]
        shown = [replace(hits[i], score=reported_cosine(score, 6))
                 for i, score in zip(members[nearest].tolist(), similarity[nearest].tolist())]
        groups.append(SenseGroup(sense=sense, size=len(members), examples=tuple(shown), keywords=tuple(words)))
    return tuple(groups)


def _project(vectors: np.ndarray, seed: int) -> np.ndarray:
    if len(vectors) < 2 or not np.ptp(vectors, axis=0).any():  # one point, however many usages: PCA divides by 0
        return np.zeros((len(vectors), 2), dtype=np.float32)
    return PCA(n_components=2, svd_solver="randomized", random_state=seed).fit_transform(vectors).astype(np.float32)


def plot_senses(report: SenseReport, target: str | Path | BinaryIO) -> None:
    """Write a PNG: the usages' 2-D PCA projection coloured by sense, keywords in the legend."""
    from matplotlib.figure import Figure

    with chart_fonts():
        figure = Figure(figsize=(9, 6.5), dpi=110, layout="constrained")
        axes = figure.subplots()
        palette = [f"C{i}" for i in range(10)]
        for group in report.senses:
            chosen = report.point_senses == group.sense
            label = f"{group.sense}: {', '.join(group.keywords[:4]) or '(no keywords)'}  ({group.size:,})"
            axes.scatter(report.points[chosen, 0], report.points[chosen, 1], s=14, alpha=0.7, linewidths=0,
                         color=palette[(group.sense - 1) % len(palette)], label=label)
        shown = len(report.points)
        axes.set_title(f"“{report.word}”: {report.n_usages:,} usages, {len(report.senses)} senses"
                       + (f" ({shown:,} drawn)" if shown < report.n_usages else ""))
        axes.set_xlabel("first principal component")
        axes.set_ylabel("second principal component")
        axes.legend(title="sense: keywords (usages)", loc="best", fontsize=8, title_fontsize=9, markerscale=1.5)
        save_png(figure, target)
