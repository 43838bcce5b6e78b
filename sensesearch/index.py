"""SenseIndex: the public entry point that ties the encoder, the vector store and the metadata store."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from filelock import FileLock

from . import dburl
from .config import CONFIG_FILE, IndexConfig
from .corpus import check_paths, path_text, read_corpus
from .inputs import check_names
from .encoder import Encoder, load_encoder
from .errors import ConfigMismatchError, IndexCorruptError, SenseNotFoundError, SenseSearchError
from .folder import LOCK_FILE, META_FILE, acquire_write_lock, read_index_config, sqlite_url  # noqa: F401
from .filters import Condition
from .ingest import ChunkEncoder, Ingestor, ProgressCallback
from .opening import IndexOpening
from .reencode import reencoded_vectors
from .records import Document, DocumentEntry, Hit, IndexInfo, IngestReport, Skipped
from .search import Searcher
from .store import DocumentRow, MetaStore
from .vectors import VECTORS_FILE, VectorStore

if TYPE_CHECKING:
    from .inventory import WordInventory
    from .sense_api import WordSenses
    from .senses import SenseReport

log = logging.getLogger(__name__)


class SenseIndex(IndexOpening):
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
        self._opened_identity = self._identity()
        self.searcher = Searcher(self)

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
                      chunk_encoder: ChunkEncoder | None = None,
                      phase: Callable[[str], None] | None = None) -> IngestReport:
        """Index documents; `phase` hears the name of each step after encoding (for progress displays)."""
        self._require_writer()
        report = Ingestor(self, progress=progress, chunk_encoder=chunk_encoder).run(items)
        if self.vectors.needs_rebuild(self.config.compression):
            log.info("rebuilding %d vectors as an IVF index", self.vectors.ntotal)
            if phase:
                phase("building the vector index")
            self.vectors = self.vectors.rebuilt(self.config.compression)
            if phase:
                phase("saving the vectors")
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
        for wanted in check_names(paths_or_labels, "document"):
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
        self.vectors.remove_ranges([(d.first_occurrence, d.first_occurrence + d.n_occurrences) for d in docs])
        try:
            self.save_vectors()
        except SenseSearchError as exc:
            # Not the save's own "run it again": the rows are gone, so the names would match nothing; the
            # next writer's recover() drops the vectors without rows, which finishes this removal.
            reason = str(exc).split("; ")[0]
            raise SenseSearchError(f"removed {len(docs)} document(s) from the metadata, but their vectors could not be "
                                   f"dropped ({reason}); searches already leave them out, and the next writer "
                                   "(`sensesearch index` or `remove`, or `verify --repair`) drops them") from None

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Re-encode every stored occurrence from the sentences in the metadata store and re-train the codec.

        No corpus files are needed, only the model the index was built with (ConfigMismatchError if it
        changed). `progress` gets the number of sentences done. Returns the number of vectors written.
        """
        self._require_writer()
        self.vectors = reencoded_vectors(self.store, self.encoder.encode, self.config.dim, self.config.compression,
                                         progress)
        self.save_vectors()
        return self.vectors.ntotal

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
        """Reload the vectors file if another process has saved a newer one; True if it did.

        A reader's view is one generation of the index: when the metadata store or config.json are
        other files than the ones it opened (the index was rebuilt in place), rows, config and vectors
        are all taken from the new index together, never new vectors over the old rows.
        """
        stamp = self._stamp()
        if stamp == self._vectors_stamp or self._lock is not None:
            return False
        if self._identity() != self._opened_identity:
            config = read_index_config(self.path)
            store = MetaStore(config.db_url or sqlite_url(self.path), lemma_language=config.lemma_language,
                              read_only=self.read_only)
            self.store.close()
            if (config.encoder, config.model_fingerprint) != (self.config.encoder, self.config.model_fingerprint):
                self._encoder = None
            self.store, self.config, self._opened_identity = store, config, self._identity()
        self.vectors = VectorStore.load(self.path / VECTORS_FILE, self.config.compression)
        self._vectors_stamp = stamp
        return True

    @property
    def vectors_stamp(self) -> tuple[int, int, int]:
        """Identity (inode, mtime in ns, size) of the vectors file this object has loaded; changes with each save."""
        return self._vectors_stamp

    def _stamp(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path / VECTORS_FILE)
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _identity(self) -> tuple[tuple[int, int], ...]:
        """Which files the metadata store and config.json are (device, inode): new ones mean a rebuilt index."""
        found = []
        for name in (META_FILE, CONFIG_FILE):
            try:
                st = os.stat(self.path / name)
                found.append((st.st_dev, st.st_ino))
            except FileNotFoundError:
                found.append((0, 0))
        return tuple(found)

    def query(self, text: str, k: int = 10, any_word: bool = False, documents: Sequence[str] | None = None,
              nprobe: int | None = None, lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        """Nearest usages to the word or phrase marked [[like this]] in `text`: same word by default, any word if asked.

        A marked phrase ("the [[interest rate]] rose") is scored by the mean of its words' vectors
        against the same adjacent words elsewhere. Hit offsets are code points of `Hit.sentence`.
        `lemma`: every form of the marked word's lemma counts as the same word. `where`: conditions
        on document metadata and paths such as "year>=1900" (see sensesearch.filters).
        """
        return self.searcher.query(text, k=k, any_word=any_word, documents=documents, nprobe=nprobe, lemma=lemma,
                                   where=where)

    def usages(self, word: str, limit: int | None = None, documents: Sequence[str] | None = None,
               lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        """Every usage of `word` (case-insensitive, any Unicode form) in corpus order, up to `limit`.

        A word the pre-tokenizer splits (don't, 银行) or several words ("interest rate") is a phrase:
        its usages are those stored words side by side, each Hit spanning the whole phrase.
        `lemma` and `where` as in `query`. WordNotFoundError when there is none.
        """
        return self.searcher.usages(word, limit=limit, documents=documents, lemma=lemma, where=where)

    def senses(self, word: str, k: int | None = None, examples: int = 5, documents: Sequence[str] | None = None,
               seed: int = 0, lemma: bool = False, where: Sequence[Condition | str] = ()) -> SenseReport:
        """Sense groups of `word`'s usages (see `sensesearch.senses.induce_senses`)."""
        from .senses import induce_senses  # scikit-learn loads only when senses are asked for

        return induce_senses(self.searcher, word, k=k, examples=examples, documents=documents, seed=seed,
                             lemma=lemma, where=where)

    def sense(self, word: str) -> WordSenses:
        """The named senses of `word`: define them, tag its usages, search within a sense (sensesearch.sense_api)."""
        from .sense_api import WordSenses  # sense_api works on this class

        return WordSenses(self, word)

    def sense_words(self, word: str | None = None) -> list[WordInventory]:
        """The sense inventory of `word` (SenseNotFoundError if it has none), or of every word that has one."""
        from .inventory import Inventory

        if word is None:
            return Inventory(self.store).words()
        found = self.sense(word).inventory()
        if found is None:
            raise SenseNotFoundError(f"{word!r} has no sense inventory")
        return [found]

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
                         db_url=dburl.redact(self.config.db_url) if self.config.db_url else sqlite_url(self.path))

    def catalog(self) -> list[DocumentEntry]:
        """Every indexed document: label, path, key, counts and metadata (see sensesearch.catalog)."""
        from .catalog import list_documents

        return list_documents(self.store)

    def resolve_documents(self, names: Sequence[str]) -> list[str]:
        """Labels of the documents named by label, path or unique file name; InputError if one matches none."""
        from .catalog import resolve_labels

        return resolve_labels(self.catalog(), names)

    def documents(self) -> list[dict[str, Any]]:
        return [{"id": d.id, "document": d.label, "key": d.key, "sentences": d.n_sentences,
                 "occurrences": d.n_occurrences} for d in self.store.all_documents()]


def _files_size(folder: Path, name: str) -> int:
    return sum(p.stat().st_size for p in folder.glob(name + "*") if p.is_file())


def _under(key: str, wanted: str) -> bool:
    return key == wanted or key.startswith(wanted.rstrip(os.sep) + os.sep) or key.startswith(wanted + "#")


