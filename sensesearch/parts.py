"""What the parts below the facade need from an open index, as protocols (so none of them imports index.py).

SenseIndex (index.py) composes the parts and satisfies every protocol here; tests and other
front ends may hand the parts anything else that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .config import IndexConfig
from .encoder import Encoder
from .records import Hit
from .store import MetaStore
from .vectors import VectorStore


class Configured(Protocol):
    """Anything that knows the index's configuration (engines read the recipe from it)."""

    @property
    def config(self) -> IndexConfig: ...


class UsageSource(Protocol):
    """Where sense induction and evaluation read usages: vectors of a word, and hits for ids."""

    def word_vectors(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                     where: Sequence[Any] = ()) -> tuple[np.ndarray, np.ndarray]: ...

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None) -> list[Hit]: ...


class IndexParts(Protocol):
    """The parts an Ingestor writes through and a Searcher reads from."""

    store: MetaStore
    vectors: VectorStore

    @property
    def encoder(self) -> Encoder: ...

    def refresh(self) -> bool: ...

    def save_vectors(self) -> None: ...
