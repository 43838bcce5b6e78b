"""What the parts below the facade need from each other, as protocols (so none of them imports index.py).

SenseIndex (index.py) composes the parts: an Ingestor over a store writer (IngestWriter), a
Searcher over the occurrence store (SnapshotSource), senses and evaluation over a searcher or the
facade (UsageSource), engines over anything Configured. Tests and other front ends may hand the
parts anything else that satisfies these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .config import IndexConfig
from .records import Hit
from .generation import Snapshot
from .schema import DocumentRow
from .store import MetaStore


class Configured(Protocol):
    """Anything that knows the index's configuration (engines read the recipe from it)."""

    @property
    def config(self) -> IndexConfig: ...


class UsageSource(Protocol):
    """Where sense induction and evaluation read usages: vectors of a word, and hits for ids."""

    def word_vectors(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                     where: Sequence[Any] = ()) -> tuple[np.ndarray, np.ndarray]: ...

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None, word: str | None = None) -> list[Hit]: ...


class SnapshotSource(Protocol):
    """Where a Searcher reads: the rows of the loaded generation, and snapshots (storage.OccurrenceStore)."""

    @property
    def config(self) -> IndexConfig: ...

    @property
    def meta(self) -> MetaStore: ...

    def snapshot(self, refresh: bool = True) -> Snapshot: ...


class IngestWriter(Protocol):
    """What an Ingestor writes through (storage_writer.StoreWriter): one write session, used as a context manager."""

    def __enter__(self) -> IngestWriter: ...

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None: ...

    def next_ids(self) -> tuple[int, int, int, int]: ...

    def word_ids(self) -> dict[str, int]: ...

    @property
    def ntotal(self) -> int: ...

    def documents_by_keys(self, keys: Sequence[str]) -> dict[str, DocumentRow]: ...

    def document_meta(self, document_id: int) -> dict[str, Any]: ...

    def replace(self, existing: DocumentRow) -> None: ...

    def add(self, word_rows: Sequence[tuple[int, str, str]], sentence_rows: Sequence[tuple[int, int, int, str]],
            occurrence_rows: Sequence[tuple[int, int, int, int, int, int]], ids: np.ndarray,
            vectors: np.ndarray) -> None: ...

    def add_document(self, update: bool = False, **values: Any) -> None: ...

    def checkpoint(self, last: bool = False) -> None: ...
