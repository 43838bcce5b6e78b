"""What the HTTP server keeps between requests: one read-only SenseIndex behind a lock, and recent sense reports.

Request handlers run in a thread pool (model calls are CPU-bound), so every use of the index goes
through `IndexService.call`, which holds the lock and first picks up vectors another process saved.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sensesearch import (Encoder, IndexInfo, SenseIndex, SenseReport, SenseTimeline, normalize_form, parse_conditions,
                         plot_senses, plot_timeline, read_index_config, sense_timeline)

T = TypeVar("T")
CACHED_REPORTS = 16


class IndexService:
    """One read-only index shared by request threads; `call` serialises access to it."""

    def __init__(self, path: Path, encoder: Encoder | None = None, device: str | None = None) -> None:
        self.path = path
        self.device = device
        self._lock = threading.Lock()
        self._index = SenseIndex.open(path, read_only=True, encoder=encoder, device=device)
        self._reports: OrderedDict[tuple[Any, ...], tuple[SenseReport, bytes | None]] = OrderedDict()

    def call(self, work: Callable[[SenseIndex], T]) -> T:
        """Run `work` on the index under the lock, after reloading vectors saved since the last call."""
        with self._lock:
            self._index.refresh()
            return work(self._index)

    def warm(self) -> None:
        """Load the model now, so that the first query does not wait for it."""
        self.call(lambda index: index.encoder)

    def reload(self) -> IndexInfo:
        """Reopen the index from disk, keeping the loaded model when the index still uses the same one."""
        with self._lock:
            current = self._index
            fresh_config = read_index_config(self.path)
            same_model = (fresh_config.encoder == current.config.encoder
                          and fresh_config.model_fingerprint == current.config.model_fingerprint)
            encoder = current.encoder if same_model else None
            fresh = SenseIndex.open(self.path, read_only=True, encoder=encoder, device=self.device)
            current.close()
            self._index = fresh
            self._reports.clear()
            return fresh.info()

    def senses(self, word: str, k: int | None, lemma: bool = False, where: tuple[str, ...] = ()) -> SenseReport:
        """The SenseReport of `word`, cached until the index changes (SenseIndex.generation: a save or a rebuild)."""
        return self._report(word, k, with_plot=False, lemma=lemma, where=where)[0]

    def plot(self, word: str, k: int | None, lemma: bool = False, where: tuple[str, ...] = ()) -> bytes:
        """The PNG map of `word`'s sense groups."""
        png = self._report(word, k, with_plot=True, lemma=lemma, where=where)[1]
        assert png is not None
        return png

    def timeline(self, word: str, k: int | None, by: str, bin_width: float | None = None, lemma: bool = False,
                 where: tuple[str, ...] = ()) -> SenseTimeline:
        """The shares of `word`'s senses per bin of `by` (sensesearch.diachronic), from the cached report."""
        return self.senses_by(word, k, by, bin_width, lemma, where)[1]

    def senses_by(self, word: str, k: int | None, by: str, bin_width: float | None = None, lemma: bool = False,
                  where: tuple[str, ...] = ()) -> tuple[SenseReport, SenseTimeline]:
        """The SenseReport of `word` and its timeline, both from one generation of the index (one hold of the lock):
        taken in two, an index run, removal or rebuild between them joined one generation's sense groups to the
        other's documents (usages of a removed document counted as having no value, ids renumbered by a rebuild)."""
        conditions = parse_conditions(where)
        with self._lock:
            self._index.refresh()
            report = self._cached_report(word, k, False, lemma, conditions)[0]
            return report, sense_timeline(self._index, report, by, bin_width)

    def timeline_plot(self, timeline: SenseTimeline, chart: str) -> bytes:
        """The PNG chart of a timeline."""
        buffer = io.BytesIO()
        with self._lock:  # matplotlib's settings and the warning filters (chartfonts) are process-wide
            plot_timeline(timeline, buffer, kind=chart)
        return buffer.getvalue()

    def close(self) -> None:
        with self._lock:
            self._index.close()

    def _report(self, word: str, k: int | None, with_plot: bool, lemma: bool = False,
                where: tuple[str, ...] = ()) -> tuple[SenseReport, bytes | None]:
        conditions = parse_conditions(where)
        with self._lock:
            self._index.refresh()
            return self._cached_report(word, k, with_plot, lemma, conditions)

    def _cached_report(self, word: str, k: int | None, with_plot: bool, lemma: bool,
                       conditions: tuple[Any, ...]) -> tuple[SenseReport, bytes | None]:
        """The report (and PNG, if asked) of the loaded generation, from the cache or made now; the lock is held."""
        key = (normalize_form(word.strip()), k, lemma, conditions, self._index.generation)
        report, png = self._reports.get(key) or (
            self._index.senses(word, k=k, examples=5, lemma=lemma, where=conditions), None)
        if with_plot and png is None:
            buffer = io.BytesIO()
            plot_senses(report, buffer)
            png = buffer.getvalue()
        self._reports[key] = (report, png)
        self._reports.move_to_end(key)
        while len(self._reports) > CACHED_REPORTS:
            self._reports.popitem(last=False)
        return report, png
