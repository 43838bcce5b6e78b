"""A stand-in for `sensesearch.senses` (built by another branch) so the server's senses plumbing can be tested.

It follows the agreed contract: `induce_senses(index, word, k=None, examples=5)` returns a report with
`.to_dict()`, and `plot_senses(report, binary_file)` writes a PNG. The grouping is deliberately simple
(nearest of k far-apart seed usages); the real clustering is not what these tests check.
"""

from __future__ import annotations

import re
import sys
import types
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pytest

_WORD = re.compile(r"[^\W\d_]+")
_STOP = {"the", "a", "an", "of", "on", "to", "and", "in", "its", "at", "for", "her", "his", "we", "she", "he", "it"}


@dataclass(frozen=True)
class FakeReport:
    word: str
    senses: list[dict[str, Any]]
    assignments: list[int]
    points: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        # numpy integers on purpose, as a clustering library hands them out: the server must cope.
        return {"word": self.word, "senses": self.senses, "assignments": list(np.asarray(self.assignments))}


@dataclass
class FakeSenses:
    """Counts calls, so tests can see caching."""

    calls: list[tuple[str, int | None, int]] = field(default_factory=list)

    def induce_senses(self, index: Any, word: str, k: int | None = None, examples: int = 5) -> FakeReport:
        self.calls.append((word, k, examples))
        ids, vectors = index.word_vectors(word)
        k = min(k or 2, len(ids))
        seeds = [0]
        while len(seeds) < k:
            nearest = (vectors @ vectors[seeds].T).max(axis=1)
            seeds.append(int(np.argmin(nearest)))
        labels = np.argmax(vectors @ vectors[seeds].T, axis=1)
        hits = index.hits(ids.tolist())
        senses = []
        for sense in range(k):
            members = [hit for hit, label in zip(hits, labels, strict=True) if label == sense]
            counts = Counter(w.casefold() for hit in members for w in _WORD.findall(hit.sentence))
            keywords = [w for w, _ in counts.most_common() if w not in _STOP and w != word.casefold()][:5]
            senses.append({"sense": sense, "size": np.int64(len(members)), "keywords": keywords,
                           "examples": [hit.to_dict() for hit in members[:examples]]})
        centred = vectors - vectors.mean(axis=0)
        points = np.zeros((len(ids), 2), dtype=np.float32)
        projected = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        points[:, : projected.shape[1]] = projected  # one usage gives a single axis
        return FakeReport(word=word, senses=senses, assignments=labels.tolist(), points=points)

    def plot_senses(self, report: FakeReport, target: BinaryIO) -> None:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        figure = Figure(figsize=(4, 3.2), dpi=90)
        axes = figure.subplots()
        axes.scatter(report.points[:, 0], report.points[:, 1], c=[f"C{a}" for a in report.assignments], s=28)
        axes.set_title(f"usages of {report.word!r}")
        axes.set_xticks([])
        axes.set_yticks([])
        figure.tight_layout()
        figure.savefig(target, format="png")


def install(monkeypatch: pytest.MonkeyPatch) -> FakeSenses:
    """Put a fake `sensesearch.senses` into sys.modules for the duration of one test."""
    fake = FakeSenses()
    module = types.ModuleType("sensesearch.senses")
    module.induce_senses = fake.induce_senses  # type: ignore[attr-defined]
    module.plot_senses = fake.plot_senses  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sensesearch.senses", module)
    return fake


def remove(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import sensesearch.senses` fail, as it does where that module is not installed."""
    monkeypatch.setitem(sys.modules, "sensesearch.senses", None)
