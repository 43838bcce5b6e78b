"""SenseIndex: the public entry point that ties the encoder, the vector store and the metadata store."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from filelock import FileLock, Timeout

from . import dburl
from .config import CONFIG_FILE, EncoderSettings, IndexConfig, encoder_differences
from .corpus import check_paths, path_text, read_corpus
from .encoder import Encoder, load_encoder
from .errors import ConfigMismatchError, IndexCorruptError, IndexLockedError, IndexNotFoundError, SenseSearchError
from .filters import Condition
from .ingest import ChunkEncoder, Ingestor, ProgressCallback
from .lemmas import DEFAULT_LANGUAGE, parse_language
from .records import Document, Hit, IndexInfo, IngestReport, Skipped
from .search import Searcher
from .store import DocumentRow, MetaStore
from .vectors import VECTORS_FILE, VectorStore

if TYPE_CHECKING:
    from .senses import SenseReport

log = logging.getLogger(__name__)
META_FILE = "meta.sqlite"
LOCK_FILE = "write.lock"


class SenseIndex:
    """A folder holding config.json, vectors.faiss and meta.sqlite; see DESIGN.md for the format."""

    def __init__(self, path: Path, config: IndexConfig, store: MetaStore, vectors: VectorStore,
                 encoder: Encoder | None = None, read_only: bool = False, device: str | None = None,
                 lock: FileLock | None = None) -> None:
        self.path = path
        self.config = config
        self.store = store
        self.vectors = vectors
        self.read_only = read_only
        self.device = device
        self._encoder = encoder
        self._lock = lock
        self._vectors_stamp = self._stamp()
        self.searcher = Searcher(self)

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, model: str | None = None, *, settings: EncoderSettings | None = None,
               compression: str = "sq8", db_url: str | None = None, encoder: Encoder | None = None,
               device: str | None = None, lock_timeout: float = 0, lemma_language: str = DEFAULT_LANGUAGE) -> SenseIndex:
        """Make a new, empty index at `path` (a folder that must not hold an index yet).

        `lemma_language`: ISO 639 code(s) of the lemmatiser for words' lemmas ("en", "de,en").
        """
        parse_language(lemma_language)
        folder = Path(path)
        if (folder / CONFIG_FILE).exists():
            raise SenseSearchError(f"{folder} already holds an index; open it instead")
        if folder.exists() and not folder.is_dir():
            raise SenseSearchError(f"{folder} exists and is not a folder")
        settings = settings or EncoderSettings()
        if model is not None:
            settings = EncoderSettings(**{**settings.__dict__, "model": model})
        encoder = encoder or load_encoder(settings, device)
        db_url = dburl.with_namespace(db_url, folder) if db_url else None
        folder.mkdir(parents=True, exist_ok=True)
        lock = acquire_write_lock(folder, lock_timeout)
        try:
            config = IndexConfig(encoder=settings, model_fingerprint=encoder.fingerprint, dim=encoder.dim,
                                 compression=compression, db_url=db_url, lemma_language=lemma_language)
            store = MetaStore(db_url or _sqlite_url(folder), lemma_language=lemma_language)
            if db_url and store.next_ids() != (1, 1, 1, 1):
                store.close()
                raise SenseSearchError(f"{dburl.redact(db_url)} already holds another index's metadata; "
                                       "name a free schema with ?schema=NAME or drop that one")
            vectors = VectorStore.create(encoder.dim, compression)
            index = cls(folder, config, store, vectors, encoder=encoder, device=device, lock=lock)
            index.save_vectors()
            config.save(folder)
        except BaseException:
            lock.release()
            raise
        return index

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, encoder: Encoder | None = None,
             device: str | None = None, lock_timeout: float = 0) -> SenseIndex:
        """Open an existing index; a writer takes the folder's lock and drops vectors left by a crash."""
        folder = Path(path)
        config = read_index_config(folder)
        lock = None if read_only else acquire_write_lock(folder, lock_timeout)
        try:
            if not (folder / VECTORS_FILE).is_file():
                raise IndexCorruptError(f"{folder / VECTORS_FILE} is missing")
            if config.db_url is None and not (folder / META_FILE).is_file():
                raise IndexCorruptError(f"{folder / META_FILE} is missing")
            store = MetaStore(config.db_url or _sqlite_url(folder), lemma_language=config.lemma_language)
            vectors = VectorStore.load(folder / VECTORS_FILE)
            if vectors.dim != config.dim:
                raise IndexCorruptError(f"vectors have dimension {vectors.dim}, config says {config.dim}")
            index = cls(folder, config, store, vectors, encoder=encoder, read_only=read_only, device=device, lock=lock)
            if not read_only:
                index.recover()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return index

    @classmethod
    def open_or_create(cls, path: str | Path, settings: EncoderSettings | None = None, *,
                       compression: str = "sq8", db_url: str | None = None, encoder: Encoder | None = None,
                       device: str | None = None, lock_timeout: float = 0,
                       lemma_language: str | None = None) -> SenseIndex:
        """Open the index at `path` for writing, checking `settings` against it, or create it."""
        if (Path(path) / CONFIG_FILE).exists():
            index = cls.open(path, encoder=encoder, device=device, lock_timeout=lock_timeout)
            stored_db = index.config.db_url or _sqlite_url(index.path)
            if db_url is not None and not dburl.same_database(stored_db, db_url):
                index.close()
                raise ConfigMismatchError(f"{path} keeps its metadata in {dburl.redact(stored_db)}, "
                                          f"not {dburl.redact(db_url)}; leave out --db for an existing index")
            if lemma_language is not None and parse_language(lemma_language) != parse_language(
                    index.config.lemma_language):
                index.close()
                raise ConfigMismatchError(f"{path} keeps lemmas for {index.config.lemma_language!r}, not "
                                          f"{lemma_language!r}; leave out --lemma-language for an existing index")
            if settings is not None:
                differences = encoder_differences(index.config.encoder, settings)
                if differences:
                    index.close()
                    raise ConfigMismatchError(f"{path} was built with other settings: " + "; ".join(differences))
            return index
        return cls.create(path, settings=settings, compression=compression, db_url=db_url, encoder=encoder,
                          device=device, lock_timeout=lock_timeout, lemma_language=lemma_language or DEFAULT_LANGUAGE)

    def close(self) -> None:
        self.store.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> SenseIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def encoder(self) -> Encoder:
        """The model, loaded on first use and checked against the one the index was built with."""
        if self._encoder is None:
            self._encoder = load_encoder(self.config.encoder, self.device)
        if self._encoder.fingerprint != self.config.model_fingerprint:
            raise ConfigMismatchError(
                f"model {self.config.encoder.model!r} now has weights fingerprint {self._encoder.fingerprint}, "
                f"the index was built with {self.config.model_fingerprint}")
        return self._encoder

    # ---- writing -------------------------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], progress: ProgressCallback | None = None,
            stdin: BinaryIO | None = None, chunk_encoder: ChunkEncoder | None = None) -> IngestReport:
        """Index files, folders (recursively) and "-" (stdin); unchanged documents are not indexed twice.

        `chunk_encoder` replaces in-process encoding (e.g. sensesearch.ray_engine.RayChunkEncoder).
        """
        paths = list(paths)
        check_paths(paths)
        return self.add_documents(read_corpus(paths, stdin=stdin), progress=progress, chunk_encoder=chunk_encoder)

    def add_documents(self, items: Iterable[Document | Skipped], progress: ProgressCallback | None = None,
                      chunk_encoder: ChunkEncoder | None = None) -> IngestReport:
        self._require_writer()
        report = Ingestor(self, progress=progress, chunk_encoder=chunk_encoder).run(items)
        if self.vectors.needs_rebuild(self.config.compression):
            log.info("rebuilding %d vectors as an IVF index", self.vectors.ntotal)
            self.vectors = self.vectors.rebuilt(self.config.compression)
            self.save_vectors()
        return report

    def remove(self, paths_or_labels: Sequence[str]) -> list[str]:
        """Remove documents given by path (a folder removes everything below it) or label; returns labels."""
        self._require_writer()
        chosen = {doc.id: doc for docs in self.matching_documents(paths_or_labels).values() for doc in docs}
        self.remove_documents(list(chosen.values()))
        return [doc.label for doc in chosen.values()]

    def matching_documents(self, paths_or_labels: Sequence[str]) -> dict[str, list[DocumentRow]]:
        """For each path (a folder: everything below it) or label, the stored documents it names."""
        stored = self.store.all_documents()
        found: dict[str, list[DocumentRow]] = {}
        for wanted in paths_or_labels:
            key = path_text(Path(wanted).resolve())
            found[wanted] = [doc for doc in stored if doc.label == wanted or _under(doc.key, key)]
        return found

    def remove_documents(self, docs: Sequence[DocumentRow]) -> None:
        """Rows first (committed), vectors second: a crash in between leaves only stray vectors."""
        if not docs:
            return
        with self.store.begin() as conn:
            for doc in docs:
                self.store.delete_document(conn, doc)
        for doc in docs:
            self.vectors.remove_range(doc.first_occurrence, doc.first_occurrence + doc.n_occurrences)
        self.save_vectors()

    def save_vectors(self) -> None:
        self.vectors.save(self.path / VECTORS_FILE)
        self._vectors_stamp = self._stamp()

    def recover(self) -> int:
        """Drop vectors whose rows were never committed (a crash mid-ingest); returns how many."""
        stored = self.vectors.ids()
        rows = np.asarray(self.store.all_occurrence_ids(), dtype=np.int64)
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

    def _require_writer(self) -> None:
        if self.read_only:
            raise SenseSearchError("this index was opened read-only")

    # ---- reading -------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Reload the vectors file if another process has saved a newer one; True if it did."""
        stamp = self._stamp()
        if stamp == self._vectors_stamp or self._lock is not None:
            return False
        self.vectors = VectorStore.load(self.path / VECTORS_FILE)
        self._vectors_stamp = stamp
        return True

    def _stamp(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path / VECTORS_FILE)
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def query(self, text: str, k: int = 10, any_word: bool = False, documents: Sequence[str] | None = None,
              nprobe: int | None = None, lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        """Nearest usages to the word marked [[like this]] in `text`: same word by default, any word if asked.

        `lemma`: every form of the marked word's lemma counts as the same word. `where`: conditions
        on document metadata and paths such as "year>=1900" (see sensesearch.filters).
        """
        return self.searcher.query(text, k=k, any_word=any_word, documents=documents, nprobe=nprobe, lemma=lemma,
                                   where=where)

    def usages(self, word: str, limit: int | None = None, documents: Sequence[str] | None = None,
               lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        """Every usage of `word` (case-insensitive; every form of its lemma with `lemma`) in corpus order."""
        return self.searcher.usages(word, limit=limit, documents=documents, lemma=lemma, where=where)

    def senses(self, word: str, k: int | None = None, examples: int = 5, documents: Sequence[str] | None = None,
               seed: int = 0, lemma: bool = False, where: Sequence[Condition | str] = ()) -> SenseReport:
        """Sense groups of `word`'s usages (see `sensesearch.senses.induce_senses`)."""
        from .senses import induce_senses  # senses imports this module

        return induce_senses(self, word, k=k, examples=examples, documents=documents, seed=seed, lemma=lemma,
                             where=where)

    def word_vectors(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                     where: Sequence[Condition | str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Occurrence ids and stored vectors of every usage of `word` (of its lemma, within `where`)."""
        return self.searcher.word_vectors(word, documents=documents, lemma=lemma, where=where)

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None) -> list[Hit]:
        """Hits for occurrence ids, in the given order (ids without rows are left out)."""
        return self.searcher.hits(ids, scores)

    def info(self) -> IndexInfo:
        counts = self.store.counts()
        enc = self.config.encoder
        meta_bytes = self.store.size_bytes() if self.config.db_url else _files_size(self.path, META_FILE)
        return IndexInfo(path=str(self.path), documents=counts["documents"], sentences=counts["sentences"],
                         occurrences=counts["occurrences"], words=counts["words"], model=enc.model,
                         model_fingerprint=self.config.model_fingerprint, dim=self.config.dim,
                         layers=list(enc.layers), combine=enc.combine, pooling=enc.pooling,
                         compression=self.config.compression, index_type=self.vectors.describe(),
                         bytes_vectors=_files_size(self.path, VECTORS_FILE), bytes_meta=meta_bytes,
                         db_url=dburl.redact(self.config.db_url) if self.config.db_url else _sqlite_url(self.path))

    def documents(self) -> list[dict[str, Any]]:
        return [{"id": d.id, "document": d.label, "key": d.key, "sentences": d.n_sentences,
                 "occurrences": d.n_occurrences} for d in self.store.all_documents()]


def read_index_config(folder: Path) -> IndexConfig:
    """The config of the index in `folder`; IndexNotFoundError when there is no index there."""
    if not folder.is_dir():
        raise IndexNotFoundError(f"no index at {folder}: the folder does not exist")
    if not (folder / CONFIG_FILE).is_file():
        raise IndexNotFoundError(f"{folder} is not a sensesearch index (no {CONFIG_FILE})")
    return IndexConfig.load(folder)


def _sqlite_url(folder: Path) -> str:
    return f"sqlite:///{(folder / META_FILE).resolve()}"


def _files_size(folder: Path, name: str) -> int:
    return sum(p.stat().st_size for p in folder.glob(name + "*") if p.is_file())


def _under(key: str, wanted: str) -> bool:
    return key == wanted or key.startswith(wanted.rstrip(os.sep) + os.sep) or key.startswith(wanted + "#")


def acquire_write_lock(folder: Path, timeout: float) -> FileLock:
    """The index folder's single-writer lock, or IndexLockedError after `timeout` seconds."""
    lock = FileLock(str(folder / LOCK_FILE), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexLockedError(f"another process is writing to {folder}; try again when it is done") from None
    return lock

