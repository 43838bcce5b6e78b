"""The occurrence store's write session: rows and vectors made durable together at checkpoints.

Write order is what keeps the FAISS file and the metadata in agreement: rows go into an open
transaction, vectors into the in-memory FAISS index; at a checkpoint the FAISS file is saved
atomically first and the transaction committed second. A crash before the commit leaves vectors
whose rows never landed; the next writer drops them (OccurrenceStore.recover). Vectors of replaced
documents are dropped only after the commit that deleted their rows, so no committed row ever
lacks its vector. A writer that rolls back drops every vector it added since the last checkpoint.

The session's writes (statements, vectors into FAISS, checkpoints) go through a lane (lane.py): in the
caller, or, for an ingest whose encoder works off this CPU, on a thread of their own, in the order given,
while the caller goes on with the next chunk. A checkpoint is a call in that order too: its vectors file is
written once every write before it has run, and its commit follows, so a checkpoint makes durable exactly
what was given before it, whichever thread makes it.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, RootTransaction

from .dbengine import cancel_statement
from .digests import digest_of_rows, document_digest
from .heldrows import HeldRows
from .errors import SenseSearchError, UsageError
from .ivf import Assign
from .idrange import IdRange
from .lane import DEPTH as LANE_DEPTH, Lane
from .schema import DocumentRow, documents, occurrences, sentences, words
from .store import MetaStore
from .vectors import VectorStore

log = logging.getLogger(__name__)


class StoreWriter:
    """One write session over an occurrence store (use it as a context manager: a failure rolls back).

    The ingest loop needs only this: `next_ids`, `word_ids`, `documents_by_keys`, `replace`, `add`,
    `add_document`, `checkpoint`, `ntotal`. Ids are the caller's to hand out from `next_ids` on;
    `add` checks they stay inside the store's id range. `assign` chooses the lists of vectors added to
    an IVF store (see ivf.py); `phase` hears the name of each slow step of the last checkpoint.

    `background`: the writes run on a thread of its own, beside the caller (for an encoder off this CPU; beside
    a forward pass on it, a thread costs the model more than it saves, see encoder.runs_on_host), checkpoints
    but the last included. An error (a full disk, say) is then raised by the writer's next `add`,
    `add_document`, `replace` or `checkpoint`, or on leaving the session, not by the call that caused it;
    either way the session rolls back.
    """

    def __init__(self, meta: MetaStore, vectors: VectorStore, save_vectors: Callable[[], None],
                 id_range: IdRange, assign: Assign | None = None, phase: Callable[[str], None] | None = None,
                 background: bool = False) -> None:
        self.meta = meta
        self.vectors = vectors
        self.assign = assign
        self.phase = phase
        self.save_vectors = save_vectors
        self.id_range = id_range
        self.conn: Connection | None = None
        self.transaction: RootTransaction | None = None
        self.lane: Lane | None = None
        self.background = background
        self.committed_occurrence = id_range.first
        self.added_occurrence = id_range.first
        self.given_vectors = 0
        self.pending_removals: list[DocumentRow] = []
        self.removed_after_checkpoint = False
        # The rows inserted in the open transaction, in id order, so a document finished in it is digested from
        # them (HeldRows) instead of reading them back; (form, lemma) of words by id, as far as needed so far.
        self.held = HeldRows()
        self.word_entries: dict[int, tuple[str, str | None]] = {}

    def __enter__(self) -> StoreWriter:
        self.committed_occurrence = self.added_occurrence = self.next_ids()[2]
        self.given_vectors = self.vectors.ntotal
        self.conn = self.meta.engine.connect()
        self.transaction = self.conn.begin()
        self.lane = Lane(LANE_DEPTH if self.background else 0, name="sensesearch-sql")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, *_: object) -> None:
        try:
            # After a failure (Ctrl-C) the rollback drops the statements still queued; otherwise they finish first.
            failed = None if exc_type is not None or self.lane is None else self.lane.wait()
            if exc_type is not None or failed is not None:
                lost = self.rollback()
                if failed is not None:
                    raise failed
                if lost is not None and lost is not exc:
                    # The session's own error goes on; this one (a checkpoint's full disk, say) must not go unheard.
                    log.warning("the last checkpoint given before stopping was not made: %s",
                                str(lost).splitlines()[0] if str(lost) else type(lost).__name__)
            elif self.removed_after_checkpoint:
                self._fit_layout()
                self.save_vectors()
        finally:
            if self.lane is not None:
                self.lane.close()
            if self.conn is not None:
                self.conn.close()
            self.conn = self.transaction = self.lane = None

    def next_ids(self) -> tuple[int, int, int, int]:
        """The next free (document, sentence, occurrence, word) ids within the store's id range."""
        return self.id_range.next_ids(self.meta)

    def word_ids(self) -> dict[str, int]:
        """Every stored word form and its id."""
        return self.meta.word_ids()

    @property
    def ntotal(self) -> int:
        """Vectors held, committed or not, once the writes given so far have run (the lane may still be adding them)."""
        return self.given_vectors

    def documents_by_keys(self, keys: Sequence[str]) -> dict[str, DocumentRow]:
        """The committed documents stored under `keys`, by key."""
        return self.meta.documents_by_keys(keys)

    def document_meta(self, document_id: int) -> dict[str, Any]:
        """The committed metadata fields of a document."""
        return self.meta.document_meta(document_id)

    def replace(self, existing: DocumentRow) -> None:
        """Delete a document's rows in this session; its vectors go right after the next commit."""
        conn = self._conn()
        self._lane().submit(lambda: self.meta.delete_document(conn, existing))
        self.pending_removals.append(existing)

    def add(self, word_rows: Sequence[tuple[int, str, str]], sentence_rows: Sequence[tuple[int, int, int, str]],
            occurrence_rows: Sequence[tuple[int, int, int, int, int, int]], ids: np.ndarray,
            vectors: np.ndarray) -> None:
        """Rows (words: id, form, lemma; sentences: id, document_id, start, text; occurrences: id, sentence_id,
        word_id, position, start, end) into the open transaction, and vectors (float32, n x dim) under `ids`.

        The rows and vectors may be written after this returns (`background`): the caller hands them over and never
        changes them. FAISS lets go of the GIL while it adds, so on the lane the caller's Python goes on meanwhile.
        """
        conn = self._conn()
        for rows, what in ((word_rows, "word"), (sentence_rows, "sentence"), (occurrence_rows, "occurrence")):
            if rows:
                self.id_range.check(max(r[0] for r in rows), what)

        def write() -> None:
            self.meta.insert_rows(conn, words, ("id", "form", "lemma"), word_rows)
            self.meta.insert_rows(conn, sentences, ("id", "document_id", "start", "text"), sentence_rows)
            self.meta.insert_rows(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"),
                                  occurrence_rows, beside_python=self.background)
            self.vectors.add(ids, vectors, self.assign)

        self._lane().submit(write, nbytes=vectors.nbytes)
        self.held.add(sentence_rows, occurrence_rows)
        self.word_entries.update((row[0], (row[1], row[2])) for row in word_rows)
        if len(ids):
            self.given_vectors += len(ids)
            self.added_occurrence = max(self.added_occurrence, int(ids.max()) + 1)

    def add_document(self, update: bool = False, **values: Any) -> None:
        """A document row (the columns of schema.documents) into the open transaction; `update`: the row of a
        document cut by a checkpoint, written again as it grows."""
        self.id_range.check(int(values["id"]), "document")
        conn = self._conn()
        # The digest covers a finished document's rows as written, in their transaction (sensesearch.digests; verify
        # recomputes it); a document cut by a checkpoint gets its digest when it is finished.
        finished = values.get("sentences_total") is None
        held_digest = self._held_digest(values) if finished else None

        def write() -> None:
            digest = document_digest(conn, values) if finished and held_digest is None else held_digest
            if update:
                conn.execute(documents.update().where(documents.c.id == values["id"]).values(**values, digest=digest))
            else:
                conn.execute(documents.insert().values(**values, digest=digest))

        self._lane().submit(write)

    def _held_digest(self, values: dict[str, Any]) -> str | None:
        """A finished document's digest from the rows handed over in this transaction, if all of them were (else
        None: the lane reads them back). Made in the caller, since off the host the lane is the busier thread: both
        corpora, stand-in model, 2 alternated runs: the lane's CPU 3.3-4.0 s instead of 4.7 s (its document rows
        0.13-0.16 s instead of 1.1 s), the caller's 4.6-4.8 s instead of 4.3-4.5 s, wall 9.4-10.1 s, not 10.8 s."""
        own = self.held.rows_of(int(values["first_sentence"]), int(values["n_sentences"]),
                                int(values["first_occurrence"]), int(values["n_occurrences"]))
        if own is None:
            return None
        sentence_rows, occurrence_rows = own
        unknown = {row[2] for row in occurrence_rows}.difference(self.word_entries)
        if unknown:
            # Words stored before this session, so committed: a connection of its own reads them beside the lane.
            with self.meta.engine.connect() as reader:
                self.word_entries.update(self.meta.word_entries(reader, unknown))
        entries = self.word_entries
        # As verify reads them: (id, sentence_id, position, start, end, form, lemma); a missing word gives None, None.
        return digest_of_rows(values, sentence_rows, ((o[0], o[1], o[3], o[4], o[5], *entries.get(o[2], (None, None)))
                                                      for o in occurrence_rows))

    def checkpoint(self, last: bool = False) -> None:
        """Vectors to disk first, rows second; vectors of replaced documents go only after the commit.

        Off the caller (`background`), a checkpoint but the last is a call on the lane after the writes given before
        it, and the caller goes on at once (both corpora, five checkpoints: 0.3 s of the calling thread, not 3.4 s).
        Its error is raised as any lane error; a session failing otherwise (Ctrl-C) still makes it (Lane.drop).
        `last`: the session's final checkpoint, made in the caller once the lane is done, where vectors whose
        number calls for another layout (IVF, say) are laid out so first (VectorStore.fit_layout) and saved once,
        not exhaustive and then again as IVF (an extra 0.45 s for 493,000 vectors of 384 dimensions). When it
        also drops replaced documents' vectors, the layout waits for the save after the drop (at the session's
        end), so that, as in a fresh index of the same documents, only the vectors that stay decide it.
        """
        lane = self._lane()
        removals, self.pending_removals = self.pending_removals, []
        if last and self.phase and (removals or not self.vectors.needs_rebuild()):
            # Every chunk is encoded and written: what is left is this checkpoint (_fit_layout names its own steps).
            self.phase("saving")
        added = self.added_occurrence
        # Rows given from here on belong to the next transaction, whenever this one commits.
        self.held = HeldRows()

        def make_durable() -> None:
            if last and not removals:
                self._fit_layout()
            # Replaced documents' old vectors are still here until the commit: the code is trained at the save after
            # they go, so that only the vectors that stay decide it, as in a fresh index (an edited document in an
            # index of 3,630 vectors had made its exact code SQ8, counting 5,362).
            with self.vectors.training_deferred() if removals else nullcontext():
                self.save_vectors()
            try:
                self._commit()
            except SenseSearchError as exc:
                # Vectors go to disk before rows: say what a failed commit (a full disk) leaves, and what mends it.
                raise type(exc)(f"{exc}; the vectors file, saved first, holds this checkpoint's vectors without "
                                "their rows: the next `sensesearch index` or `sensesearch verify --repair` drops "
                                "them") from None
            self.committed_occurrence = added
            self.vectors.remove_ranges([(d.first_occurrence, d.first_occurrence + d.n_occurrences) for d in removals])
            self.removed_after_checkpoint = bool(removals)

        if last:
            lane.flush()
            make_durable()
        else:
            lane.submit(make_durable, kept=True)
        if removals:
            # The count after the drop decides the next checkpoint, as it does in the caller: wait for it.
            lane.flush()
            self.given_vectors = self.vectors.ntotal

    def _commit(self) -> None:
        assert self.transaction is not None and self.conn is not None, "checkpoint outside a write session"
        self.transaction.commit()
        self.transaction = self.conn.begin()

    def _fit_layout(self) -> None:
        """Lay the vectors out anew when their number calls for another layout, announcing the slow steps."""
        if not self.vectors.needs_rebuild():
            return
        log.info("laying out %d vectors anew, as their number calls for", self.vectors.ntotal)
        if self.phase:
            self.phase("building the vector index")
        self.vectors.fit_layout(self.assign)
        if self.phase:
            self.phase("saving the vectors")

    def rollback(self) -> BaseException | None:
        """Drop the uncommitted rows and every vector added since the last checkpoint; returns why a checkpoint
        given to the lane was not made (Lane.drop), if one was not."""
        lost = None
        if self.lane is not None:
            # The last checkpoint given is made first, for DROP_GRACE at most; the statements after it are skipped,
            # and one in hand is cancelled and ends before its transaction.
            lost = self.lane.drop(cancel=lambda: cancel_statement(self.conn))
        if self.transaction is not None:
            self.transaction.rollback()
        self.held = HeldRows()
        self.vectors.remove_range(self.committed_occurrence, self.id_range.stop)
        self.given_vectors = self.vectors.ntotal
        self.pending_removals = []
        return lost

    def _conn(self) -> Connection:
        if self.conn is None:
            raise UsageError("a store writer is used inside `with writer:` only")
        return self.conn

    def _lane(self) -> Lane:
        if self.lane is None:
            raise UsageError("a store writer is used inside `with writer:` only")
        return self.lane
