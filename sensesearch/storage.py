"""The occurrence store: an index folder's metadata rows, FAISS vectors, codec, writer lock and generation, as one.

It is the only place that knows the write order that keeps FAISS ids and SQL rows in step:
- rows are committed only after the vectors they need are saved (a crash leaves vectors without
  rows, never rows without vectors), so `recover` can drop stray vectors on the next writer's open;
- removal commits the rows first and then drops the vectors in one batched pass, then saves;
- a reader takes rows and vectors as one generation: a newer vectors file is loaded over the same
  rows, and an index rebuilt in place (other metadata or config files) is taken whole, never new
  vectors over old rows.
Writing goes through `writer()` (storage_writer.StoreWriter); checks and repairs through
storage_check; what a generation is, and the Snapshot of one, is generation.py's. The SenseIndex facade
and verify ask this object; nothing here imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from filelock import FileLock

from . import checksums, digests
from .config import CONFIG_FILE, IndexConfig
from .errors import IndexClosedError, IndexCorruptError, ReadOnlyError, SenseSearchError
from .folder import read_index_config, sqlite_url, store_url
from .generation import Identity, Snapshot, Stamp, file_stamp, files_identity
from .ivf import Assign
from .reencode import Encode, reencoded_vectors
from .schema import DocumentRow
from .store import MetaStore
from .idrange import IdRange
from .storage_writer import StoreWriter
from .vectors import VECTORS_FILE, VectorStore

log = logging.getLogger(__name__)


class OccurrenceStore:
    """Rows (MetaStore) and vectors (VectorStore) of one index folder; see the module docstring for the rules.

    `id_range` (idrange.IdRange) bounds the ids its writers hand out: the default, from 1 and
    unbounded, is a single index; a shard built apart for a later merge takes its own range. The
    range is not stored in config.json yet: a shard's builder passes it each time it opens the store.
    """

    def __init__(self, path: Path, config: IndexConfig, meta: MetaStore, vectors: VectorStore, *,
                 read_only: bool = False, lock: FileLock | None = None, id_range: IdRange | None = None,
                 loaded: tuple[Identity, Stamp] | None = None) -> None:
        """`loaded`: the generation (files' identity, vectors stamp) as seen before `meta` and `vectors` were read.

        Taken before the reads, a generation can only be older than the data, so a change made while
        reading makes the next refresh reload; taken after, it could describe a newer vectors file
        than the one loaded and hide it (new rows over old vectors). Defaults to the files now.
        """
        self.path = path
        self.config = config
        self.meta = meta
        self.vectors = vectors
        self.read_only = read_only
        self.id_range = id_range or IdRange()
        self._lock = lock
        self.closed = False
        self.dropped_on_open = 0
        """Vectors without rows this writer dropped on opening: left by a run killed between its commit and save."""
        self._identity, self._stamp = loaded or (files_identity(path), file_stamp(path))
        # What the vectors file holds: this store at this version (None: not saved yet, as for a new index).
        self._saved: tuple[VectorStore, int] | None = (vectors, vectors.version) if loaded else None

    @classmethod
    def create(cls, path: Path, config: IndexConfig, *, lock: FileLock | None = None,
               id_range: IdRange | None = None) -> OccurrenceStore:
        """A new, empty store in `path`: metadata store, then an empty vectors file (config.json, and claiming the
        metadata store for the index, sensesearch.claim, are the caller's). The lock stays the caller's to release
        if this fails.
        """
        meta = MetaStore(config.db_url or sqlite_url(path), lemma_language=config.lemma_language)
        try:
            storage = cls(path, config, meta, VectorStore.create(config.dim, config.compression), lock=lock,
                          id_range=id_range)
            storage.save_vectors()
        except BaseException:
            meta.close()
            raise
        return storage

    @classmethod
    def open(cls, path: Path, config: IndexConfig, *, read_only: bool = False, lock: FileLock | None = None,
             id_range: IdRange | None = None) -> OccurrenceStore:
        """Open the store of an existing index; a writer (holding `lock`) first drops vectors left by a crash.

        IndexCorruptError when a file is missing, the vectors' dimension differs from config.json or
        (for a writer) a checksum does not match.
        """
        if not (path / VECTORS_FILE).is_file():
            raise IndexCorruptError(f"{path / VECTORS_FILE} is missing: run `sensesearch verify --repair`, "
                                    "which re-encodes the vectors from the stored sentences")
        url = store_url(path, config)
        loaded = (files_identity(path), file_stamp(path))
        meta = MetaStore(url, lemma_language=config.lemma_language, read_only=read_only)
        try:
            vectors = _checked_vectors(path, config)
            if not read_only:
                # The quick check before writing: a writer must not build on changed rows or settings.
                for problem in (IndexConfig.checksum_problem(path), digests.quick_problem(meta.engine)):
                    if problem:
                        raise IndexCorruptError(f"{problem}; run `sensesearch verify` for details")
            storage = cls(path, config, meta, vectors, read_only=read_only, lock=lock, id_range=id_range,
                          loaded=loaded)
            if not read_only:
                storage.dropped_on_open = storage.recover()
        except BaseException:
            meta.close()
            raise
        return storage

    def close(self, keep_lock: bool = False) -> FileLock | None:
        """Close the metadata store and release the writer lock (if this store holds it); `keep_lock`: hand the
        lock, still held, to the caller instead (returned), to release once done with the folder."""
        self.meta.close()
        self.closed = True
        lock, self._lock = self._lock, None
        if lock is not None and not keep_lock:
            lock.release()
            return None
        return lock

    # ---- writing -------------------------------------------------------------------------------

    def writer(self, assign: Assign | None = None, phase: Callable[[str], None] | None = None,
               background: bool = False) -> StoreWriter:
        """A write session (add rows and vectors, replace documents, checkpoint, roll back); see StoreWriter.

        `assign` chooses the lists of vectors added to an IVF store (ivf.py), e.g. on the encoder's GPU;
        `phase` hears the name of each slow step of its last checkpoint (for progress displays);
        `background`: SQL runs on a thread beside the caller.
        """
        self.require_writer()
        return StoreWriter(self.meta, self.vectors, self.save_vectors, self.id_range, assign, phase, background)

    def require_open(self) -> None:
        """IndexClosedError once closed: a closed store no longer holds the write lock, so a write through it could
        interleave with another writer's and break the index (a closed writer's add left 435 rows without vectors)."""
        if self.closed:
            raise IndexClosedError(f"the index at {self.path} was closed; open it again to use it")

    def require_writer(self) -> None:
        """IndexClosedError once closed, ReadOnlyError for a store opened read-only."""
        self.require_open()
        if self.read_only:
            raise ReadOnlyError(f"the index at {self.path} was opened read-only; open it without read_only to change it")

    def next_ids(self) -> tuple[int, int, int, int]:
        """The next free (document, sentence, occurrence, word) ids within this store's id range."""
        return self.id_range.next_ids(self.meta)

    def save_vectors(self) -> None:
        """Save the vectors atomically (training the codec first if the size calls for it) and note the new stamp.

        A store unchanged since it was loaded or saved is not written: a run that indexed nothing (every input
        unchanged, or a failure) rewrote the whole file and its checksums' `previous` entry.
        """
        self.vectors.settle()
        if self._saved == (self.vectors, self.vectors.version) and (self.path / VECTORS_FILE).is_file():
            return
        self.vectors.save(self.path / VECTORS_FILE)
        self._saved = (self.vectors, self.vectors.version)
        self._stamp = file_stamp(self.path)

    def remove_documents(self, docs: Sequence[DocumentRow]) -> None:
        """Rows first (committed), vectors second in one pass over the index: a crash in between leaves only strays."""
        self.require_writer()  # first: nothing to remove from a closed or read-only index is still refused
        if not docs:
            return
        with self.meta.begin() as conn:
            for doc in docs:
                self.meta.delete_document(conn, doc)
        self.vectors.remove_ranges([(d.first_occurrence, d.first_occurrence + d.n_occurrences) for d in docs])
        # Every writer leaves the layout the size calls for: removals can take an IVF store below IVF_THRESHOLD,
        # and an ingest killed before its session's end can leave an exhaustive one past it.
        self.vectors.fit_layout()
        try:
            self.save_vectors()
        except SenseSearchError as exc:
            # Not the save's own "run it again": the rows are gone, so the names would match nothing; the
            # next writer's recover() drops the vectors without rows, which finishes this removal.
            reason = str(exc).split("; ")[0]
            # Of the save's own kind (a full disk, read-only media, an I/O error): the system's, as the save's was.
            raise type(exc)(f"removed {len(docs)} document(s) from the metadata, but their vectors could not be "
                            f"dropped ({reason}); searches already leave them out, and the next writer "
                            "(`sensesearch index` or `remove`, or `verify --repair`) drops them") from None

    def reencode(self, encode: Encode, progress: Callable[[int], None] | None = None,
                 assign: Assign | None = None) -> int:
        """Replace every vector by a fresh one from the stored sentences, with a newly trained codec; returns how many.

        `assign` chooses an IVF index's lists (ivf.py), FAISS on the CPU by default.
        """
        self.require_writer()
        self.vectors = reencoded_vectors(self.meta, encode, self.config.dim, self.config.compression, progress,
                                         assign)
        self.save_vectors()
        return self.vectors.ntotal

    def recover(self) -> int:
        """Drop vectors whose rows were never committed (a crash mid-ingest); returns how many."""
        stored = self.vectors.ids()
        rows = np.asarray(self.meta.all_occurrence_ids(), dtype=np.int64)
        missing = np.setdiff1d(rows, stored, assume_unique=True)
        if len(missing):
            raise IndexCorruptError(
                f"{len(missing)} occurrences have no vector (e.g. id {int(missing[0])}); the vectors file is older "
                "than the metadata: run `sensesearch verify --repair`")
        stray = np.setdiff1d(stored, rows, assume_unique=True)
        if len(stray):
            log.warning("dropping %d vectors left by an interrupted run", len(stray))
            self.vectors.remove(stray)
            self.save_vectors()
        return int(len(stray))

    # ---- reading -------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Take up a vectors file another process has saved since; True if it did (the one test of "changed").

        When the metadata store or config.json are other files than the ones opened (the index was
        rebuilt in place), rows, config and vectors are all taken from the new index together. A
        writer holding the lock never reloads: nobody else can have written.
        """
        self.require_open()
        stamp = file_stamp(self.path)
        if stamp == self._stamp or self._lock is not None:
            return False
        identity = files_identity(self.path)
        config = read_index_config(self.path) if identity != self._identity else self.config
        # The new generation is read whole before any of it is taken up: a vectors file that failed to load after
        # the new rows were in place left new rows over old vectors (and a later refresh saw the rows as current).
        vectors = _checked_vectors(self.path, config)
        if identity != self._identity:
            meta = MetaStore(store_url(self.path, config), lemma_language=config.lemma_language,
                             read_only=self.read_only)
            self.meta.close()
            self.meta, self.config, self._identity = meta, config, identity
        self.vectors = vectors
        self._saved = (self.vectors, self.vectors.version)
        self._stamp = stamp
        return True

    def snapshot(self, refresh: bool = True) -> Snapshot:
        """The current generation, after taking up a newer one from disk unless `refresh` is False.

        Read rows from a snapshot taken without refresh and vectors from one taken after: vectors
        are saved before rows are committed, so vectors read later cover every row read earlier.
        """
        self.require_open()
        if refresh:
            self.refresh()
        return Snapshot(self.config, self.meta, self.vectors, self.generation)

    @property
    def generation(self) -> tuple[Identity, Stamp]:
        """Which metadata/config files (device, inode) and which vectors file (inode, mtime ns, size) are loaded."""
        return (self._identity, self._stamp)

    @property
    def vectors_stamp(self) -> Stamp:
        """Identity (inode, mtime in ns, size) of the vectors file loaded; changes with each save."""
        return self._stamp


def _checked_vectors(path: Path, config: IndexConfig) -> VectorStore:
    """The vectors file of `path` as a reader may serve it: its sum present, its bytes matching it, its dimension
    config.json's (IndexCorruptError otherwise); opening and refreshing both read it so, or a refresh served a file
    whose sum was deleted, or of another width, that opening refused."""
    # Readers too: damaged vectors are refused, never served (the bytes are hashed as they load).
    missing_sum = checksums.missing(path, CONFIG_FILE, VECTORS_FILE)
    if missing_sum:
        raise IndexCorruptError(f"{missing_sum}; run `sensesearch verify` for details")
    vectors = VectorStore.load(path / VECTORS_FILE, config.compression, check=True)
    if vectors.dim != config.dim:
        raise IndexCorruptError(f"vectors have dimension {vectors.dim}, config.json says {config.dim}; "
                                "`sensesearch verify --repair` checks which is right")
    return vectors
