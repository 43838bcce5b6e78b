"""The documents an ingest run has to encode, and the chunks of their sentences handed to the encoder.

Which inputs are new or changed is decided against the stored versions, looked up a batch of documents
at a time (`with_stored`); the sentences of the documents to encode go out in runs bounded by count
and by characters (`sentence_chunks`). ingest.py decides what to do with each document and writes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from .records import Document, Skipped
from .schema import DocumentRow

LOOKUP_DOCUMENTS = 256
LOOKUP_CHARS = 64_000
"""Documents, and characters of their text, read ahead to look their stored versions up in one query: one query a
document was 11 of 27 s of a re-run over 20,000 unchanged one-line files. The characters stay well under a chunk
(ingest.CHUNK_CHARS): 1,000,000 read ahead had the whole inaugural corpus (807 kB) read 5 s into an 18 s encoding
(a front end's bar now follows what is written: WrittenReports)."""

Chunk = list[tuple["PendingDocument", int]]
"""(document, index of one of its sentences), in corpus order."""

WrittenCallback = Callable[[Document, int], None]
"""Called with a document and how many of its characters are written (WrittenReports)."""


@dataclass
class PendingDocument:
    """A document being encoded and written: its sentence spans (characters), and the ids and counts given so far."""

    doc: Document
    spans: list[tuple[int, int]]
    doc_id: int = 0
    first_sentence: int = 0
    first_occurrence: int = 0
    n_occurrences: int = 0
    n_pieces: int = 0
    done_sentences: int = 0
    replaces: DocumentRow | None = None
    stored: bool = False
    then: Document | None = None
    """The last document read after this one that needs no encoding (WrittenReports.passed): written with it."""


def with_stored(items: Iterable[Document | Skipped], lookup: Callable[[Sequence[str]], dict[str, DocumentRow]]
                ) -> Iterator[tuple[Document | Skipped, DocumentRow | None]]:
    """Each item with the committed document `lookup` finds under its key, looked up LOOKUP_DOCUMENTS at a time (or
    fewer, LOOKUP_CHARS of text at most, so that large files are not read far ahead of their encoding).

    Two documents of one key in a batch both get the stored version; the caller tells them apart.
    """
    batch: list[Document | Skipped] = []
    chars = 0
    for item in chain(items, [None]):
        if item is not None:
            batch.append(item)
            chars += len(item.text) if isinstance(item, Document) else 0
            if len(batch) < LOOKUP_DOCUMENTS and chars < LOOKUP_CHARS:
                continue
        stored = lookup([d.key for d in batch if isinstance(d, Document)]) if batch else {}
        yield from ((d, stored.get(d.key) if isinstance(d, Document) else None) for d in batch)
        batch, chars = [], 0


def sentence_chunks(pending: Iterable[PendingDocument], most_sentences: int, most_chars: int) -> Iterator[Chunk]:
    """Runs of (document, sentence index) of at most `most_sentences` sentences and about `most_chars` characters
    (a run ends with the sentence that reaches it), in corpus order."""
    chunk: Chunk = []
    chars = 0
    for doc in pending:
        for i, (start, end) in enumerate(doc.spans):
            chunk.append((doc, i))
            chars += end - start
            if len(chunk) >= most_sentences or chars >= most_chars:
                yield chunk
                chunk, chars = [], 0
    if chunk:
        yield chunk


class WrittenReports:
    """How far an ingest run has written, told to `written` in corpus order: reading runs a chunk and the stored-version
    lookups ahead of the model, so what was read said 100% while a chunk was still being encoded.

    After each chunk, its last document through the chunk's last sentence; a document read that needs no encoding
    (unchanged, empty) as a whole, once every document read before it is written. The reading thread and the writing
    one both report, so two calls may arrive out of order: a front end keeps the furthest.
    """

    def __init__(self, written: WrittenCallback | None) -> None:
        self.written = written
        self.last: PendingDocument | None = None  # the last document handed to the encoder
        self.lock = threading.Lock()

    def handed(self, pending: PendingDocument) -> None:
        with self.lock:
            self.last = pending

    def passed(self, doc: Document) -> None:
        """`doc` needs no encoding: written now, or with the last document handed to the encoder (its `then`)."""
        if self.written is None:
            return
        with self.lock:
            last = self.last
            if last is not None and last.done_sentences < len(last.spans):
                last.then = doc
                return
        self.written(doc, len(doc.text))

    def chunk_written(self, chunk: Chunk) -> None:
        if self.written is None or not chunk:
            return
        last, i = chunk[-1]
        with self.lock:
            finished = last.done_sentences == len(last.spans)
            then = last.then if finished else None
        if then is not None:
            self.written(then, len(then.text))
        else:
            self.written(last.doc, len(last.doc.text) if finished else last.spans[i][1])
