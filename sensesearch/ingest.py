"""Ingest documents: segment, encode in large batches, write rows and vectors, checkpoint safely.

Write order is what keeps the FAISS file and the metadata in agreement: rows go into an open
transaction, vectors into the in-memory FAISS index; at a checkpoint the FAISS file is saved
atomically first and the transaction committed second. A crash before the commit leaves vectors
whose rows never landed; the next writer drops them (SenseIndex.recover).

Checkpoints fall every so many occurrences, inside a document too, so what a run holds pending is
bounded by occurrences, not by document size. A document cut by a checkpoint is committed with the
sentences it has so far and `sentences_total` set; it is completed (the column cleared) in a later
transaction. A run that stops first leaves it marked: verify reports it, --repair removes it, and
the next ingest deletes and redoes it (never counted as unchanged).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, RootTransaction

import numpy as np

from .encoder import encode_chunks
from .config import whole_number_env
from .lemmas import lemmatizer
from .query import is_punctuation, normalize_form
from .readahead import ReadAhead
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
WRITE_AHEAD = 2
"""Encoded chunks waiting for the writer at most: enough to keep the encoder busy, little memory."""
MIN_CHECKPOINT_OCCURRENCES = 50_000
CHECKPOINT_GROWTH = 0.25
CHECKPOINT_ENV = "SENSESEARCH_CHECKPOINT_OCCURRENCES"
CHARS_PER_OCCURRENCE = 4
"""A low estimate of characters per occurrence in prose (English averages 5-6 with spaces and punctuation):
chunks hold at most min_checkpoint of this many characters, so a small checkpoint setting gives small chunks."""


def checkpoint_occurrences() -> int:
    """The smallest number of occurrences between checkpoints: $SENSESEARCH_CHECKPOINT_OCCURRENCES or the default."""
    chosen = whole_number_env(CHECKPOINT_ENV, 1)
    return MIN_CHECKPOINT_OCCURRENCES if chosen is None else chosen


@dataclass
class _PendingDocument:
    doc: Document
    spans: list[tuple[int, int]]
    replaces: DocumentRow | None = None
    doc_id: int = 0
    first_sentence: int = 0
    first_occurrence: int = 0
    n_occurrences: int = 0
    n_pieces: int = 0
    done_sentences: int = 0
    stored: bool = False


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
        # The read-ahead thread touches the connection (and pending_removals) only while holding this.
        self.conn_lock = threading.Lock()
        self.stopping = False
        self.removed_after_checkpoint = False

    def run(self, items: Iterable[Document | Skipped]) -> IngestReport:
        """Encode on a read-ahead thread (WRITE_AHEAD chunks at most), write and checkpoint on this one.

        Rows, vectors and checkpoints stay on the calling thread, in chunk order; the read-ahead
        thread uses the connection only under `conn_lock` (to look up and delete replaced documents).
        """
        started = time.perf_counter()
        with self.store.engine.connect() as conn:
            self.conn = conn
            transaction = conn.begin()
            handed_out: deque[list[tuple[_PendingDocument, int]]] = deque()
            encoded_chunks = ReadAhead(
                lambda: iter(self.chunk_encoder(self._chunk_texts(self._new_documents(items), handed_out))),
                WRITE_AHEAD, name="sensesearch-encode")
            try:
                for encoded in encoded_chunks:
                    chunk = handed_out.popleft()
                    with self.conn_lock:
                        for pending in self._write_chunk(conn, chunk, encoded):
                            self._store_document(conn, pending)
                        if self._threshold_reached():
                            last = chunk[-1][0]
                            if last.done_sentences < len(last.spans):
                                self._store_document(conn, last)
                            self._checkpoint(transaction)
                            transaction = conn.begin()
                with self.conn_lock:
                    self._checkpoint(transaction)
            except BaseException:
                with self.conn_lock:
                    self.stopping = True
                    transaction.rollback()
                    self.vectors.remove_range(self.committed_occurrence, 2**62)
                raise
            finally:
                encoded_chunks.close()
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
            with self.conn_lock:
                if self.stopping:
                    return
                existing = self.store.document_by_key(item.key, self.conn)
                if existing is not None and existing.interrupted:
                    log.info("indexing %s again: an earlier run stopped inside it", item.label)
                elif existing is not None and existing.content_hash == item.content_hash:
                    self.counters.unchanged += 1
                    continue
                elif existing is not None:
                    self.counters.replaced += 1
            spans = split_sentences(item.text)
            if not spans and existing is not None:
                with self.conn_lock:
                    if self.stopping:
                        return
                    # Nothing will replace it: the old version goes now.
                    self.store.delete_document(self.conn, existing)
                    self.pending_removals.append(existing)
            if not spans:
                self._skip(Skipped(item.label, "no sentences"))
                continue
            # The old version's rows go with the new one's first chunk, in the same transaction, so a
            # crash in between never leaves the document missing.
            yield _PendingDocument(item, spans, replaces=existing)

    def _skip(self, item: Skipped) -> None:
        log.warning("skipped %s: %s", item.path, item.reason, extra={"listed_in_report": True})
        self.counters.skipped.append(item)

    def _chunks(self, pending: Iterator[_PendingDocument]) -> Iterator[list[tuple[_PendingDocument, int]]]:
        """Runs of (document, sentence index) of at most chunk_sentences and about CHUNK_CHARS, in corpus order.

        Chunks are also kept under about min_checkpoint occurrences (CHARS_PER_OCCURRENCE), since
        checkpoints fall between chunks: a small checkpoint setting then bounds what is pending.
        """
        chunk: list[tuple[_PendingDocument, int]] = []
        chars = 0
        most_chars = min(CHUNK_CHARS, self.min_checkpoint * CHARS_PER_OCCURRENCE)
        for doc in pending:
            for i, (start, end) in enumerate(doc.spans):
                chunk.append((doc, i))
                chars += end - start
                if len(chunk) >= self.chunk_sentences or chars >= most_chars:
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
                if doc.replaces is not None:
                    self.store.delete_document(conn, doc.replaces)
                    self.pending_removals.append(doc.replaces)
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

    def _store_document(self, conn: Connection, pending: _PendingDocument) -> None:
        """Write a document's row as far as it got: complete, or (before a checkpoint inside it) partial."""
        doc = pending.doc
        done = pending.done_sentences
        values = dict(n_sentences=done, n_occurrences=pending.n_occurrences, n_pieces=pending.n_pieces,
                      sentences_total=None if done == len(pending.spans) else len(pending.spans))
        if pending.stored:
            conn.execute(documents.update().where(documents.c.id == pending.doc_id).values(**values))
            return
        conn.execute(documents.insert().values(
            id=pending.doc_id, key=doc.key, label=doc.label, path=doc.path, content_hash=doc.content_hash,
            meta=doc.meta, first_sentence=pending.first_sentence, first_occurrence=pending.first_occurrence,
            **values))
        pending.stored = True

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
