"""Ingest documents: segment, encode in large batches, write rows and vectors, checkpoint safely.

Write order is what keeps the FAISS file and the metadata in agreement: rows go into an open
transaction, vectors into the in-memory FAISS index; at a checkpoint (only between documents) the
FAISS file is saved atomically first and the transaction committed second. A crash before the
commit leaves vectors whose rows never landed; the next writer drops them (SenseIndex.recover).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, RootTransaction

import numpy as np

from .digests import document_digest
from .encoder import encode_chunks
from .config import whole_number_env
from .lemmas import lemmatizer
from .query import is_punctuation, normalize_form
from .records import Document, EncodedSentence, IngestReport, Skipped
from .segment import split_sentences
from .store import DocumentRow, documents, occurrences, sentences, words

if TYPE_CHECKING:
    from .parts import IndexParts

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, int], None]
"""Called with (documents, sentences, word pieces) done so far."""

ChunkEncoder = Callable[[Iterator[Sequence[str]]], Iterator[list[EncodedSentence]]]
"""Encodes a stream of sentence chunks, one result list per chunk in input order; it may read ahead
(a distributed engine keeps many chunks in flight), since the writer keeps the chunks it has handed out."""

CHUNK_SENTENCES = 2048
"""Sentences per encoder call at most: more sentences sort into batches of more even length (less padding)."""
CHUNK_CHARS = 200_000
"""Characters per encoder call at most (about 36,000 occurrences of English): a chunk's pieces, plans and
vectors are held at once, so memory is bounded by text size, not by a sentence count that long sentences
make unbounded (2,048 sentences of up to 2,000 characters are 4 MB of text)."""
MIN_CHECKPOINT_OCCURRENCES = 50_000
CHECKPOINT_GROWTH = 0.25
CHECKPOINT_ENV = "SENSESEARCH_CHECKPOINT_OCCURRENCES"


def checkpoint_occurrences() -> int:
    """The smallest number of occurrences between checkpoints: $SENSESEARCH_CHECKPOINT_OCCURRENCES or the default."""
    chosen = whole_number_env(CHECKPOINT_ENV, 1)
    return MIN_CHECKPOINT_OCCURRENCES if chosen is None else chosen


@dataclass
class _PendingDocument:
    doc: Document
    spans: list[tuple[int, int]]
    doc_id: int = 0
    first_sentence: int = 0
    first_occurrence: int = 0
    n_occurrences: int = 0
    n_pieces: int = 0
    done_sentences: int = 0


@dataclass
class _Counters:
    indexed: int = 0
    unchanged: int = 0
    replaced: int = 0
    sentences: int = 0
    occurrences: int = 0
    pieces: int = 0
    skipped: list[Skipped] = field(default_factory=list)


class Ingestor:
    """One ingest run over a stream of documents into a writable index (its parts: see parts.IndexParts)."""

    def __init__(self, index: IndexParts, progress: ProgressCallback | None = None,
                 chunk_sentences: int | None = None, chunk_encoder: ChunkEncoder | None = None) -> None:
        self.index = index
        self.chunk_encoder = chunk_encoder or self._encode_in_process
        self.store = index.store
        self.vectors = index.vectors
        self.progress = progress
        self.chunk_sentences = chunk_sentences or CHUNK_SENTENCES
        self.counters = _Counters()
        self.word_ids = self.store.word_ids()
        self.lemma_of = lemmatizer(index.config.lemma_language)
        # Surface strings seen in this run -> word id (None: punctuation); ids start at 1, so 0 means unseen.
        self.surface_ids: dict[str, int | None] = {}
        self.next_document, self.next_sentence, self.next_occurrence, self.next_word = self.store.next_ids()
        self.min_checkpoint = checkpoint_occurrences()
        self.since_checkpoint = 0
        self.committed_occurrence = self.next_occurrence
        self.pending_removals: list[DocumentRow] = []
        self.removed_after_checkpoint = False

    def run(self, items: Iterable[Document | Skipped]) -> IngestReport:
        started = time.perf_counter()
        with self.store.engine.connect() as conn:
            self.conn = conn
            transaction = conn.begin()
            try:
                handed_out: deque[list[tuple[_PendingDocument, int]]] = deque()
                for encoded in self.chunk_encoder(self._chunk_texts(self._new_documents(items), handed_out)):
                    chunk = handed_out.popleft()
                    for pending in self._write_chunk(conn, chunk, encoded):
                        self._insert_document(conn, pending)
                    if self._checkpoint_due(chunk):
                        self._checkpoint(transaction)
                        transaction = conn.begin()
                self._checkpoint(transaction)
            except BaseException:
                transaction.rollback()
                self.vectors.remove_range(self.committed_occurrence, 2**62)
                raise
        if self.removed_after_checkpoint:
            self.index.save_vectors()
        c = self.counters
        return IngestReport(documents_indexed=c.indexed, documents_unchanged=c.unchanged,
                            documents_replaced=c.replaced, sentences=c.sentences, occurrences=c.occurrences,
                            word_pieces=c.pieces, seconds=time.perf_counter() - started, skipped=tuple(c.skipped))

    def _new_documents(self, items: Iterable[Document | Skipped]) -> Iterator[_PendingDocument]:
        seen: dict[str, str] = {}
        for item in items:
            if isinstance(item, Skipped):
                self._skip(item)
                continue
            if item.key in seen:
                if seen[item.key] == item.content_hash:
                    self.counters.unchanged += 1
                else:
                    self._skip(Skipped(item.label, "another document with the same id came earlier in this run"))
                continue
            seen[item.key] = item.content_hash
            existing = self.store.document_by_key(item.key)
            if existing is not None:
                if existing.content_hash == item.content_hash:
                    self.counters.unchanged += 1
                    continue
                self.store.delete_document(self.conn, existing)
                self.pending_removals.append(existing)
                self.counters.replaced += 1
            spans = split_sentences(item.text)
            if not spans:
                self._skip(Skipped(item.label, "no sentences"))
                continue
            yield _PendingDocument(item, spans)

    def _skip(self, item: Skipped) -> None:
        log.warning("skipped %s: %s", item.path, item.reason, extra={"listed_in_report": True})
        self.counters.skipped.append(item)

    def _chunks(self, pending: Iterator[_PendingDocument]) -> Iterator[list[tuple[_PendingDocument, int]]]:
        """Runs of (document, sentence index) of at most chunk_sentences and about CHUNK_CHARS, in corpus order.

        A run also ends at the first document end after a checkpoint fell due: checkpoints happen only
        between documents, and full runs rarely end exactly on a document's last sentence.
        """
        chunk: list[tuple[_PendingDocument, int]] = []
        chars = 0
        for doc in pending:
            for i, (start, end) in enumerate(doc.spans):
                chunk.append((doc, i))
                chars += end - start
                document_done = i == len(doc.spans) - 1
                if (len(chunk) >= self.chunk_sentences or chars >= CHUNK_CHARS
                        or (document_done and self._threshold_reached())):
                    yield chunk
                    chunk, chars = [], 0
        if chunk:
            yield chunk

    def _encode_in_process(self, chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        return encode_chunks(self.index.encoder, chunks)

    def _chunk_texts(self, pending: Iterator[_PendingDocument],
                     handed_out: deque[list[tuple[_PendingDocument, int]]]) -> Iterator[list[str]]:
        """The sentences of each chunk, remembering the chunk until its encoding comes back."""
        for chunk in self._chunks(pending):
            handed_out.append(chunk)
            yield [doc.doc.text[doc.spans[i][0]:doc.spans[i][1]] for doc, i in chunk]

    def _write_chunk(self, conn: Connection, chunk: list[tuple[_PendingDocument, int]],
                     encoded: list[EncodedSentence]) -> list[_PendingDocument]:
        texts = [doc.doc.text[doc.spans[i][0]:doc.spans[i][1]] for doc, i in chunk]
        sentence_rows: list[tuple[int, int, int, str]] = []
        occurrence_rows: list[tuple[int, int, int, int, int, int]] = []
        new_words: list[tuple[int, str, str]] = []
        vector_blocks, id_blocks = [], []
        finished = []
        for (doc, i), text, enc in zip(chunk, texts, encoded):
            if i == 0:
                doc.doc_id = self.next_document
                self.next_document += 1
                doc.first_sentence, doc.first_occurrence = self.next_sentence, self.next_occurrence
            sentence_id = self.next_sentence
            self.next_sentence += 1
            sentence_rows.append((sentence_id, doc.doc_id, doc.spans[i][0], text))
            keep = []
            for row, (start, end) in enumerate(enc.spans.tolist()):
                surface = text[start:end]
                word_id = self.surface_ids.get(surface, 0)
                if word_id == 0:
                    word_id = self._word_id(surface, new_words)
                if word_id is None:
                    continue
                occurrence_rows.append((self.next_occurrence, sentence_id, word_id, row, start, end))
                self.next_occurrence += 1
                keep.append(row)
            doc.n_occurrences += len(keep)
            doc.n_pieces += enc.n_pieces
            doc.done_sentences += 1
            if keep:
                vector_blocks.append(enc.vectors[keep])
                id_blocks.append(np.arange(self.next_occurrence - len(keep), self.next_occurrence, dtype=np.int64))
            self.counters.pieces += enc.n_pieces
            if doc.done_sentences == len(doc.spans):
                finished.append(doc)
        self.store.insert_rows(conn, words, ("id", "form", "lemma"), new_words)
        self.store.insert_rows(conn, sentences, ("id", "document_id", "start", "text"), sentence_rows)
        self.store.insert_rows(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"), occurrence_rows)
        if vector_blocks:
            self.vectors.add(np.concatenate(id_blocks), np.concatenate(vector_blocks))
        self.since_checkpoint += len(occurrence_rows)
        self.counters.sentences += len(sentence_rows)
        self.counters.occurrences += len(occurrence_rows)
        self.counters.indexed += len(finished)
        if self.progress:
            self.progress(self.counters.indexed, self.counters.sentences, self.counters.pieces)
        return finished

    def _word_id(self, surface: str, new_words: list[tuple[int, str, str]]) -> int | None:
        """The word id of a surface string (None for punctuation), remembered for the rest of the run."""
        if is_punctuation(surface):
            self.surface_ids[surface] = None
            return None
        form = normalize_form(surface)
        word_id = self.word_ids.get(form)
        if word_id is None:
            word_id = self.word_ids[form] = self.next_word
            self.next_word += 1
            new_words.append((word_id, form, self.lemma_of(surface)))
        self.surface_ids[surface] = word_id
        return word_id

    def _insert_document(self, conn: Connection, pending: _PendingDocument) -> None:
        doc = pending.doc
        row = dict(id=pending.doc_id, key=doc.key, label=doc.label, path=doc.path, content_hash=doc.content_hash,
                   meta=doc.meta, first_sentence=pending.first_sentence, n_sentences=len(pending.spans),
                   first_occurrence=pending.first_occurrence, n_occurrences=pending.n_occurrences,
                   n_pieces=pending.n_pieces)
        # The digest of the rows just written, in their transaction (sensesearch.digests; verify recomputes it).
        conn.execute(documents.insert().values(**row, digest=document_digest(conn, row)))

    def _checkpoint_due(self, chunk: list[tuple[_PendingDocument, int]]) -> bool:
        last_doc, last_sentence = chunk[-1]
        between_documents = last_sentence == len(last_doc.spans) - 1
        return between_documents and self._threshold_reached()

    def _threshold_reached(self) -> bool:
        return self.since_checkpoint >= max(self.min_checkpoint, int(CHECKPOINT_GROWTH * self.vectors.ntotal))

    def _checkpoint(self, transaction: RootTransaction) -> None:
        """Vectors to disk first, rows second; vectors of replaced documents go only after the commit."""
        self.index.save_vectors()
        transaction.commit()
        self.committed_occurrence = self.next_occurrence
        self.since_checkpoint = 0
        self.vectors.remove_ranges([(d.first_occurrence, d.first_occurrence + d.n_occurrences)
                                    for d in self.pending_removals])
        self.removed_after_checkpoint = bool(self.pending_removals)
        self.pending_removals = []
