"""Frozen records that flow through the pipeline and out of the public API."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import UsageError
from .jsonsafe import check_metadata, plain
from .normalize import clean_text


def reported_cosine(value: float, digits: int) -> float:
    """A cosine as reports give it: within [-1, 1] (decoded SQ8/PQ codes and float32 sums stray past 1.0), rounded
    to `digits` decimals as a Python float (float32 prints 0.9599999785423279), never -0.0 (a tiny negative cosine
    rounds so, and JSON, CSV and tables printed it as -0.0)."""
    return round(min(1.0, max(-1.0, float(value))), digits) + 0.0


@dataclass(frozen=True)
class Document:
    """One input text: a file, a JSONL record or standard input."""

    key: str
    label: str
    path: str
    text: str
    content_hash: str
    meta: dict[str, Any] = field(default_factory=dict)
    text_hash: str = ""
    """The hash of the text alone, where `content_hash` covers metadata fields too (a JSONL record's): what an index
    made before fields were hashed stored for it."""
    input_end: int | None = field(default=None, compare=False, repr=False)
    """Bytes of its input file through its line's end, for a JSONL record (corpus.read_jsonl): where a progress bar
    over the file's bytes stands once it is written. None: its place is not known (a whole file, a caller's record)."""

    def __post_init__(self) -> None:
        # A caller's record is checked as it is made: a text of int or bytes, or a key of None, had failed inside `add`
        # as a raw TypeError or a database IntegrityError, and metadata that is no mapping was stored as it was.
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        for name in ("key", "label", "path", "text", "content_hash", "text_hash"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise UsageError(f"a Document's {name} must be text, not {type(value).__name__} {value!r:.60}")
            if not value.isascii() or "\0" in value:
                # As corpus.py reads text, so a caller's lone surrogate or NUL is the U+FFFD a query types for it: the
                # tokenizer (a raw TypeError) and the database (UnicodeEncodeError) had met it as it was.
                object.__setattr__(self, name, clean_text(value))
        if self.input_end is not None and (type(self.input_end) is not int or self.input_end < 0):
            raise UsageError(f"a Document's input_end must be a number of bytes from 0 or None, not "
                             f"{self.input_end!r:.60}")
        if not isinstance(self.meta, dict):
            raise UsageError(f"a Document's meta must be a dict, not {type(self.meta).__name__} {self.meta!r:.60}")
        # Unbounded metadata would be stored, then break every JSON answer that shows it; NaN or an infinity is
        # refused, naming its field: the databases take strict JSON only (SQLite had stored Infinity, malformed JSON
        # that failed every later --where; PostgreSQL refused the run), and null in its place changed the value.
        check_metadata(self.meta)
        object.__setattr__(self, "meta", plain(self.meta))  # numpy numbers and arrays as plain ones


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


class EncodedChunk(list[EncodedSentence]):
    """The EncodedSentences of one chunk, in order, whose vectors are consecutive rows of `vectors`
    (n_words, dim) float32: a writer takes them at once rather than joining the sentences' views again,
    which copied every vector once more."""

    def __init__(self, sentences: Iterable[EncodedSentence], vectors: np.ndarray) -> None:
        super().__init__(sentences)
        self.vectors = vectors


@dataclass(frozen=True)
class Hit:
    """One usage of a word: where it stands, and its score against a query (None for plain listings).

    `left` and `right` (the sentence's text before and after the word) are derived from sentence,
    start and end; they are fields so that JSON answers (CLI and HTTP API alike) carry them.
    """

    # Field docstrings become the HTTP API schema's descriptions (the server serves this dataclass).
    __pydantic_config__ = {"use_attribute_docstrings": True}

    occurrence_id: int
    word: str
    sentence: str
    start: int
    """Start of the word in `sentence`, in Unicode code points (Python str indices; not UTF-16 units)."""
    end: int
    """End (exclusive) of the word in `sentence`, in Unicode code points (a phrase: its last word's end)."""
    document: str
    sentence_id: int
    position: int
    doc_start: int
    """Start of the word in its document's text, in Unicode code points."""
    score: float | None = None
    # Left out of the hash (a dict has none), kept in ==: hits go into sets and serve as dict keys.
    meta: dict[str, Any] = field(default_factory=dict, hash=False)
    path: str = ""
    """The file the document was read from: `document` itself for a text file, the JSON Lines file for a record
    (whose `document` is its id, which may hold "/", or this path and its line), "<stdin>" for standard input; ""
    when not known."""
    left: str = field(init=False, default="")
    """The sentence's text before the word."""
    right: str = field(init=False, default="")
    """The sentence's text after the word."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "left", self.sentence[: self.start])
        object.__setattr__(self, "right", self.sentence[self.end :])
        # A cosine of unit vectors lies in [-1, 1]; decoded SQ8/PQ codes and float sums can stray past 1.0.
        if self.score is not None and not -1.0 <= self.score <= 1.0:
            object.__setattr__(self, "score", min(1.0, max(-1.0, self.score)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UsagePage:
    """Some usages of a word (`hits`, in the order asked for, up to a limit) and how many it has in all (`total`)."""

    hits: list[Hit]
    total: int


@dataclass(frozen=True)
class DocumentEntry:
    """One indexed document as `sensesearch documents` lists it: its names, metadata and counts."""

    id: int
    label: str
    path: str
    key: str
    sentences: int
    occurrences: int
    word_pieces: int
    meta: dict[str, Any] = field(default_factory=dict)
    sentences_total: int | None = None
    """None for a whole document; else the sentences it has in all, of which an ingest run stopped after
    `sentences` (its counts are of those): `sensesearch index` of it finishes it, `verify --repair` removes it."""

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
    absent: tuple[str, ...] = ()
    """Labels of documents indexed before from the paths given that this run did not read: files since deleted
    from a folder, records gone from a JSON Lines file, inputs skipped this time. They stay indexed until removed."""
    absent_paths: tuple[str, ...] = ()
    """The file each of `absent` was read from, in the same order: records of one id in two JSON Lines files share a
    label, and only their paths tell them apart."""

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
