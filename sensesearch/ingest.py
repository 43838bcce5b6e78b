"""Ingest documents: segment, encode in large batches, hand rows and vectors to the store's writer, checkpoint.

The write order that keeps the FAISS file and the metadata in agreement is the writer's
(storage_writer.StoreWriter); this module decides only when a checkpoint falls due and which ids the
new rows take (from the writer's next ids).

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

import numpy as np

from .encoder import Encoder, encode_chunks, runs_on_host
from .errors import UsageError
from .config import CHECKPOINT_ENV, whole_number_env
from .corpus import key_clash
from .lemmas import lemmatizer
from .normalize import has_visible
from .records import Document, EncodedChunk, EncodedSentence, IngestReport, Skipped
from .segment import split_sentences
from .schema import DocumentRow
from .parts import IngestWriter
from .pending import Chunk, PendingDocument, WrittenCallback, WrittenReports, sentence_chunks, with_stored
from .readahead import ReadAhead
from .vocabulary import RunVocabulary

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
WRITE_AHEAD = 2
"""Encoded chunks waiting for the writer at most: enough to keep the encoder busy, little memory."""
CHARS_PER_OCCURRENCE = 4
"""A low estimate of characters per occurrence in prose (English averages 5-6 with spaces and punctuation):
chunks hold at most min_checkpoint of this many characters, so a small checkpoint setting gives small chunks."""


def encodes_off_host(encoder: Encoder | None, chunk_encoder: ChunkEncoder | None = None) -> bool:
    """Whether an ingest with these encoders encodes away from this machine's CPU (a GPU, a distributed engine):
    its encoding, and the writer's SQL (StoreWriter's `background`), then overlap the writing."""
    return chunk_encoder is not None or (encoder is not None and not runs_on_host(encoder))


def checkpoint_occurrences() -> int:
    """The smallest number of occurrences between checkpoints: $SENSESEARCH_CHECKPOINT_OCCURRENCES or the default."""
    chosen = whole_number_env(CHECKPOINT_ENV)
    return MIN_CHECKPOINT_OCCURRENCES if chosen is None else chosen


def chunk_chars(min_checkpoint: int) -> int:
    """Characters a chunk handed to the encoder holds at most (pending.sentence_chunks' bound): CHUNK_CHARS, and
    under about `min_checkpoint` occurrences (CHARS_PER_OCCURRENCE), since checkpoints fall between chunks."""
    return min(CHUNK_CHARS, min_checkpoint * CHARS_PER_OCCURRENCE)


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
    """One ingest run over a stream of documents through a store writer (storage_writer.StoreWriter).

    `encoder` encodes in process; it may be None when `chunk_encoder` does the encoding elsewhere.
    `lemma_language`: ISO 639 code(s) of the lemmatiser for new words' lemmas.
    """

    def __init__(self, writer: IngestWriter, encoder: Encoder | None, lemma_language: str,
                 progress: ProgressCallback | None = None, chunk_sentences: int | None = None,
                 chunk_encoder: ChunkEncoder | None = None, written: WrittenCallback | None = None) -> None:
        self.writer = writer
        self.encoder = encoder
        self.chunk_encoder = chunk_encoder or self._encode_in_process
        self.encodes_off_host = encodes_off_host(encoder, chunk_encoder)
        self.progress = progress
        self.reports = WrittenReports(written)
        self.chunk_sentences = chunk_sentences or CHUNK_SENTENCES
        self.counters = _Counters()
        self.next_document, self.next_sentence, self.next_occurrence, next_word = writer.next_ids()
        self.vocabulary = RunVocabulary(writer.word_ids(), next_word, lemmatizer(lemma_language))
        self.min_checkpoint = checkpoint_occurrences()
        self.since_checkpoint = 0
        # The read-ahead thread writes through the writer (dropping a document left with no sentences) only while
        # holding this; its lookups read committed rows on a connection of their own.
        self.conn_lock = threading.Lock()
        self.stopping = False

    def run(self, items: Iterable[Document | Skipped]) -> IngestReport:
        """Index `items`; on any failure the writer drops what was not committed and the error goes on.

        An encoder off the host (a GPU, a distributed engine) runs on a read-ahead thread, WRITE_AHEAD
        chunks at most, so its work overlaps the writing; one on the host CPU runs in turn with it
        (encoder.runs_on_host says why). Rows, vectors and checkpoints are handed to the writer from the
        calling thread, in chunk order, which is also the thread a Ctrl-C reaches (the writer may run the
        SQL on a thread of its own, its `background`).
        """
        started = time.perf_counter()
        with self.writer:
            handed_out: deque[Chunk] = deque()
            encoded_chunks = ReadAhead(
                lambda: iter(self.chunk_encoder(self._chunk_texts(self._new_documents(items), handed_out))),
                WRITE_AHEAD if self.encodes_off_host else 0, name="sensesearch-encode")
            try:
                for encoded in encoded_chunks:
                    chunk = handed_out.popleft()
                    with self.conn_lock:
                        for pending in self._write_chunk(chunk, encoded):
                            self._store_document(pending)
                        if self._threshold_reached():
                            last = chunk[-1][0]
                            if last.done_sentences < len(last.spans):
                                self._store_document(last)
                            self._checkpoint()
                with self.conn_lock:
                    self._checkpoint(last=True)
            except BaseException:
                with self.conn_lock:
                    self.stopping = True
                raise
            finally:
                encoded_chunks.close()
        c = self.counters
        return IngestReport(documents_indexed=c.indexed, documents_unchanged=c.unchanged,
                            documents_replaced=c.replaced, sentences=c.sentences, occurrences=c.occurrences,
                            word_pieces=c.pieces, seconds=time.perf_counter() - started, skipped=tuple(c.skipped))

    def _new_documents(self, items: Iterable[Document | Skipped]) -> Iterator[PendingDocument]:
        seen: dict[str, tuple[str, tuple[str, str]]] = {}
        # A lookup reads committed rows on a connection of its own, so it needs no lock: holding the writer's for it
        # made this thread wait out every chunk being written (6.9 s under py-spy, for an ingest of both corpora that
        # takes 11.4 s unprofiled).
        for item, existing in with_stored(items, self.writer.documents_by_keys):
            if isinstance(item, Skipped):
                self._skip(item)
                continue
            # A file named x.jsonl#r1.txt has the key of x.jsonl's record "r1.txt": the later comer had replaced it.
            first = seen.get(item.key)
            holder = first[1] if first else (existing.label, existing.path) if existing is not None else None
            clash = key_clash(item.key, holder, item.path) if holder else None
            if first or clash:
                if first and not clash and first[0] == item.content_hash:
                    self.counters.unchanged += 1
                else:
                    why = clash or "another document with the same id came earlier in this run"
                    self._skip(Skipped(item.label, why))
                self.reports.passed(item)
                continue
            seen[item.key] = (item.content_hash, (item.label, item.path))
            if self.stopping:
                return
            if existing is not None and existing.interrupted:
                log.info("indexing %s again: an earlier run stopped inside it", item.label)
            elif existing is not None and (existing.content_hash == item.content_hash
                                           or self._hashed_before_fields(existing, item)):
                self.counters.unchanged += 1
                self.reports.passed(item)
                continue
            elif existing is not None:
                self.counters.replaced += 1
            spans = split_sentences(item.text)
            if not spans and existing is not None:
                with self.conn_lock:
                    if self.stopping:
                        return
                    self.writer.replace(existing)  # nothing will take its place: the old version goes now
            if not spans:
                # A JSONL record is named with its file (its label alone is its id).
                named = item.label if item.label.startswith(item.path) else f"{item.path}#{item.label}"
                reason = "no sentences" if has_visible(item.text) else "empty document"
                # Said, since a skipped input otherwise stays indexed: this one was read, and it now holds nothing.
                gone = "; the version indexed before is removed" if existing is not None else ""
                self._skip(Skipped(named, reason + gone))
                self.reports.passed(item)
                continue
            # The old version's rows go with the new one's first chunk, in the same transaction, so a
            # crash in between never leaves the document missing.
            pending = PendingDocument(item, spans, replaces=existing)
            self.reports.handed(pending)
            yield pending

    def _hashed_before_fields(self, existing: DocumentRow, item: Document) -> bool:
        """Whether `existing` is `item` as an index made before a JSONL record's hash covered its fields stored it:
        the text's hash alone, and the same fields (else every such record would be encoded anew once)."""
        return (bool(item.text_hash) and existing.content_hash == item.text_hash
                and self.writer.document_meta(existing.id) == item.meta)

    def _skip(self, item: Skipped) -> None:
        log.warning("skipped %s: %s", item.path, item.reason, extra={"listed_in_report": True})
        self.counters.skipped.append(item)

    def _encode_in_process(self, chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        if self.encoder is None:
            raise UsageError("an Ingestor without a chunk encoder needs an encoder")
        return encode_chunks(self.encoder, chunks)

    def _chunk_texts(self, pending: Iterator[PendingDocument],
                     handed_out: deque[Chunk]) -> Iterator[list[str]]:
        """The sentences of each chunk, remembering the chunk until its encoding comes back."""
        for chunk in sentence_chunks(pending, self.chunk_sentences, chunk_chars(self.min_checkpoint)):
            handed_out.append(chunk)
            yield [doc.doc.text[doc.spans[i][0]:doc.spans[i][1]] for doc, i in chunk]

    def _write_chunk(self, chunk: Chunk,
                     encoded: list[EncodedSentence]) -> list[PendingDocument]:
        """Rows and vectors of one encoded chunk to the writer; returns the documents it finished.

        Word by word only where it must be (cutting out each surface string and looking it up, RunVocabulary),
        the rest on whole-chunk arrays, and the vectors taken from an EncodedChunk at once: this method took
        2.25-2.41 s instead of 2.41-2.77 s for the 493,129 occurrences of both corpora, writer included
        (3 alternated runs).
        """
        texts = [doc.doc.text[doc.spans[i][0]:doc.spans[i][1]] for doc, i in chunk]
        counts = [len(enc.spans) for enc in encoded]
        n_words = sum(counts)
        spans = (np.concatenate([enc.spans for enc in encoded]).astype(np.int64) if n_words
                 else np.zeros((0, 2), dtype=np.int64))
        sentence_of = np.repeat(np.arange(len(chunk)), counts)
        starts, ends = spans[:, 0].tolist(), spans[:, 1].tolist()
        surfaces = [texts[k][a:b] for k, a, b in zip(sentence_of.tolist(), starts, ends)]
        word_ids, new_words = self.vocabulary.ids_of(surfaces)
        chosen = np.flatnonzero(word_ids > 0)
        kept = np.bincount(sentence_of[chosen], minlength=len(chunk)).tolist()
        sentence_rows: list[tuple[int, int, int, str]] = []
        finished = []
        occurrence = self.next_occurrence
        for (doc, i), text, enc, n_kept in zip(chunk, texts, encoded, kept):
            if i == 0:
                doc.doc_id = self.next_document
                self.next_document += 1
                doc.first_sentence, doc.first_occurrence = self.next_sentence, occurrence
                if doc.replaces is not None:
                    self.writer.replace(doc.replaces)
            sentence_rows.append((self.next_sentence, doc.doc_id, doc.spans[i][0], text))
            self.next_sentence += 1
            occurrence += n_kept
            doc.n_occurrences += n_kept
            doc.n_pieces += enc.n_pieces
            doc.done_sentences += 1
            self.counters.pieces += enc.n_pieces
            if doc.done_sentences == len(doc.spans):
                finished.append(doc)
        first_sentence = sentence_rows[0][0] if sentence_rows else self.next_sentence
        positions = np.arange(n_words) - np.repeat(np.cumsum([0, *counts[:-1]]), counts)
        ids = np.arange(self.next_occurrence, occurrence, dtype=np.int64)
        occurrence_rows = list(zip(ids.tolist(), (sentence_of[chosen] + first_sentence).tolist(),
                                   word_ids[chosen].tolist(), positions[chosen].tolist(),
                                   spans[chosen, 0].tolist(), spans[chosen, 1].tolist()))
        self.next_occurrence = occurrence
        if not len(chosen):
            vectors = np.zeros((0, 0), dtype=np.float32)
        elif isinstance(encoded, EncodedChunk) and len(encoded.vectors) == n_words:
            vectors = encoded.vectors[chosen]
        else:
            vectors = np.concatenate([enc.vectors for enc in encoded])[chosen]
        self.writer.add(new_words, sentence_rows, occurrence_rows, ids, vectors)
        self.since_checkpoint += len(occurrence_rows)
        self.counters.sentences += len(sentence_rows)
        self.counters.occurrences += len(occurrence_rows)
        self.counters.indexed += len(finished)
        if self.progress:
            self.progress(self.counters.indexed, self.counters.sentences, self.counters.pieces)
        self.reports.chunk_written(chunk)  # after: a front end that shows both has the counts when the position moves
        return finished

    def _store_document(self, pending: PendingDocument) -> None:
        """Write a document's row as far as it got: complete, or (before a checkpoint inside it) partial."""
        doc = pending.doc
        done = pending.done_sentences
        self.writer.add_document(
            update=pending.stored, id=pending.doc_id, key=doc.key, label=doc.label, path=doc.path,
            content_hash=doc.content_hash, meta=doc.meta, first_sentence=pending.first_sentence, n_sentences=done,
            first_occurrence=pending.first_occurrence, n_occurrences=pending.n_occurrences,
            n_pieces=pending.n_pieces, sentences_total=None if done == len(pending.spans) else len(pending.spans))
        pending.stored = True

    def _threshold_reached(self) -> bool:
        return self.since_checkpoint >= max(self.min_checkpoint, int(CHECKPOINT_GROWTH * self.writer.ntotal))

    def _checkpoint(self, last: bool = False) -> None:
        """Make everything written so far durable (the writer's order: vectors saved, then rows committed);
        `last`: the run's final one (see StoreWriter.checkpoint)."""
        self.writer.checkpoint(last)
        self.since_checkpoint = 0
