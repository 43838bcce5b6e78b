"""Frozen records that flow through the pipeline and out of the public API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .jsonsafe import check_metadata


@dataclass(frozen=True)
class Document:
    """One input text: a file, a JSONL record or standard input."""

    key: str
    label: str
    path: str
    text: str
    content_hash: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Unbounded metadata would be stored, then break every JSON answer that shows it.
        check_metadata(self.meta)


@dataclass(frozen=True)
class Skipped:
    """An input that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class EncodedSentence:
    """Word spans (char offsets within the sentence) and their L2-normalised vectors."""

    spans: np.ndarray
    vectors: np.ndarray
    n_pieces: int


@dataclass(frozen=True)
class Hit:
    """One usage of a word: where it stands, and its score against a query (None for plain listings)."""

    occurrence_id: int
    word: str
    sentence: str
    start: int
    end: int
    document: str
    sentence_id: int
    position: int
    doc_start: int
    score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def left(self) -> str:
        return self.sentence[: self.start]

    @property
    def right(self) -> str:
        return self.sentence[self.end :]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IngestReport:
    """What one `add` did."""

    documents_indexed: int = 0
    documents_unchanged: int = 0
    documents_replaced: int = 0
    sentences: int = 0
    occurrences: int = 0
    word_pieces: int = 0
    seconds: float = 0.0
    skipped: tuple[Skipped, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexInfo:
    """Counts, recipe and sizes of an index, as `info` reports them."""

    path: str
    documents: int
    sentences: int
    occurrences: int
    words: int
    model: str
    model_fingerprint: str
    dim: int
    layers: list[int]
    combine: str
    pooling: str
    compression: str
    index_type: str
    bytes_vectors: int
    bytes_meta: int
    db_url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
