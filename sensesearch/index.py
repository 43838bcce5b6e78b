"""SenseIndex: the public entry point, a facade composing the occurrence store, an Ingestor, a Searcher and senses."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock

from .arguments import callback, name_list
from .config import IndexConfig
from .contract import checked
from .corpus import check_paths, noting_keys, read_corpus
from .encoder import Encoder, device_assign, load_encoder
from .errors import UsageError
from .folder import (LOCK_FILE, META_FILE, acquire_write_lock, check_encoder, check_stored_words,  # noqa: F401
                     check_word_rules, read_index_config, sqlite_url)
from .ingest import ChunkEncoder, Ingestor, ProgressCallback, encodes_off_host
from .pending import WrittenCallback
from .inputs import STDIN, InputScan
from .lemmas import lemmatizer
from .opening import IndexOpening
from .reading import IndexReading
from .records import Document, IngestReport, Skipped
from .schema import DocumentRow
from .search import Searcher
from .storage import OccurrenceStore
from .store import MetaStore
from .vectors import VectorStore
from .wordsplit import load_word_splitter


class SenseIndex(IndexOpening, IndexReading):
    """A folder holding config.json, vectors.faiss and meta.sqlite; see DESIGN.md for the format.

    A facade: rows, vectors, codec, lock and generation belong to the occurrence store
    (`self.storage`, storage.OccurrenceStore); ingest runs an Ingestor over its writer, queries a
    Searcher over its snapshots, senses and evaluation read through the searcher.
    """

    def __init__(self, storage: OccurrenceStore, encoder: Encoder | None = None, device: str | None = None) -> None:
        self.storage = storage
        self.device = device
        self._encoder = checked(encoder) if encoder is not None else None
        self._loading = threading.Lock()
        self._encoder_recipe = self._recipe() if encoder is not None else None
        self._splitter: tuple[tuple[object, str], Any] | None = None
        self.searcher = Searcher(storage, lambda: self.encoder, self._word_splitter)

    def close(self) -> None:
        """Close the index; the model loaded for it is let go with it (`encoder` is refused from now on)."""
        self.storage.close()
        self._encoder = None

    def close_keeping_lock(self) -> FileLock | None:
        """Close the index but keep holding the folder's write lock, returned (None for a reader): for a front end
        that removes an index it made and failed to fill, so that no run waiting for the lock opens it meanwhile."""
        self._encoder = None
        return self.storage.close(keep_lock=True)

    def __enter__(self) -> SenseIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.storage.path

    @property
    def config(self) -> IndexConfig:
        """The configuration of the generation now loaded (an index rebuilt in place brings its own)."""
        return self.storage.config

    @property
    def read_only(self) -> bool:
        return self.storage.read_only

    @property
    def store(self) -> MetaStore:
        """The metadata rows (read-only use: writes go through `storage`); IndexClosedError once closed."""
        self.storage.require_open()
        return self.storage.meta

    @property
    def vectors(self) -> VectorStore:
        """The loaded vectors (read-only use: writes go through `storage`); IndexClosedError once closed."""
        self.storage.require_open()
        return self.storage.vectors

    @property
    def encoder(self) -> Encoder:
        """The model, loaded on first use and checked against the one the index was built with.

        An index rebuilt in place with another model gets that model on the next use. IndexClosedError once closed:
        a closed index had loaded its model on asking, or kept the one it had loaded.
        """
        self.storage.require_open()
        with self._loading:  # threads' first queries at once loaded one model each (4 threads: 680 MB)
            if self._encoder is not None and self._encoder_recipe != self._recipe():
                self._encoder = None
            if self._encoder is None:
                self._encoder = checked(load_encoder(self.config.encoder, self.device, recorded=True))
                self._encoder_recipe = self._recipe()
            encoder = self._encoder
        # The model files may have changed since the index was built (weights, tokenizer): ConfigMismatchError.
        check_encoder(self.path, self.config, encoder)
        return encoder

    def _word_splitter(self) -> Any:
        """What cuts a phrase into words as the index's text was cut: the encoder once it is loaded, else the
        model's tokenizer alone (wordsplit.py), else the encoder after all."""
        with self._loading:
            if self._encoder is None and (self._splitter is None or self._splitter[0] != self._recipe()):
                self._splitter = (self._recipe(), load_word_splitter(self.config.encoder,
                                                                     self.config.tokenizer_fingerprint))
            splitter = self._splitter[1] if self._encoder is None and self._splitter is not None else None
        return splitter if splitter is not None else self.encoder

    def _recipe(self) -> tuple[object, str]:
        return (self.config.encoder, self.config.model_fingerprint)

    # ---- writing -------------------------------------------------------------------------------

    def add(self, paths: str | Path | Iterable[str | Path] | InputScan, progress: ProgressCallback | None = None,
            stdin: BinaryIO | None = None, chunk_encoder: ChunkEncoder | None = None,
            phase: Callable[[str], None] | None = None,
            read: Callable[[Iterable[Document | Skipped]], Iterable[Document | Skipped]] | None = None,
            written: WrittenCallback | None = None) -> IngestReport:
        """Index files, folders (recursively) and "-" (stdin); unchanged documents are not indexed twice.

        One path is a list of one; the scan check_paths made of the paths is taken for them (not made again). An empty
        list is nothing to do, as for a caller whose list of changed files came out empty: an empty report, with no
        model loaded and nothing written (the CLI, which needs a PATH, never passes one). None is a UsageError: it is a
        forgotten argument or an unset variable, not a list (it had indexed nothing as silently as an empty list).
        `chunk_encoder` replaces in-process encoding (e.g.
        sensesearch.ray_engine.RayChunkEncoder); `phase` and `written` as for add_documents; `read`, a pass-through
        of the documents read (with `written`, a front end's byte progress). The report's `absent` names what was
        indexed before from these paths and not read now (catalog.absent_documents). UsageError for an argument that
        is no path or list of paths (or a callback that is no function), InputError for a path that does not exist.
        """
        from .catalog import absent_documents

        read = callback(read, "read")
        if paths is None:
            raise UsageError("paths must be a file or folder name, or a list of them, not None")
        names = None if isinstance(paths, InputScan) else name_list(paths, "paths") or []  # read once: an iterator
        if names == []:
            self._require_writer()  # a closed or read-only index is refused even when there is nothing to add
            return IngestReport()
        scan = paths if isinstance(paths, InputScan) else check_paths(names or [])
        paths = scan.names
        if stdin is not None and (isinstance(stdin, io.TextIOBase) or not callable(getattr(stdin, "read", None))):
            # Bytes are decoded as files are (decoding.py); a text stream's str failed inside with a TypeError.
            raise UsageError(f"stdin must be a binary stream such as sys.stdin.buffer or io.BytesIO, not {stdin!r}")
        items = read_corpus(scan, stdin=stdin)
        keys: set[str] = set()
        report = self.add_documents(noting_keys(read(items) if read else items, keys), progress=progress,
                                    chunk_encoder=chunk_encoder, phase=phase, written=written)
        if all(str(path) == STDIN for path in paths):  # nothing indexed before can be absent from stdin
            return report
        absent = absent_documents(self.catalog(), paths, keys)
        return replace(report, absent=tuple(entry.label for entry in absent),
                       absent_paths=tuple(entry.path for entry in absent))

    def add_documents(self, items: Iterable[Document | Skipped], progress: ProgressCallback | None = None,
                      chunk_encoder: ChunkEncoder | None = None,
                      phase: Callable[[str], None] | None = None,
                      written: WrittenCallback | None = None) -> IngestReport:
        """Index documents; `phase` hears the name of each step after encoding, and `written` how far the documents
        are written (pending.WrittenReports), for progress displays.

        UsageError for `items` that are not an iterable of Document (or Skipped) records (None included), or a
        `progress`, `phase` or `written` that is neither a function nor None, before anything is read. An empty
        iterable is nothing to do, as an empty list is for `add`: an empty report, with no model loaded and nothing
        written (IndexClosedError and ReadOnlyError still hold).
        """
        if isinstance(items, (str, bytes, Document, Skipped)) or not isinstance(items, Iterable):
            raise UsageError(f"items must be an iterable of Document records, not {type(items).__name__}")
        progress, phase, written = (callback(progress, "progress"), callback(phase, "phase"),
                                    callback(written, "written"))
        items = iter(_records_only(items))
        first = next(items, None)
        if first is None:
            self._require_writer()
            return IngestReport()
        items = itertools.chain([first], items)
        self._require_writer()  # before the stored words are read, and their rules recorded
        check_stored_words(self.path, self.storage.meta)
        encoder = None if chunk_encoder is not None else self.prepare_to_add()
        if encoder is not None:
            check_word_rules(self.path, self.config, encoder)
        # IVF list assignment is most of an IVF build's cost; a GPU encoder's device does it as matrix products.
        writer = self.storage.writer(device_assign(encoder), phase, background=encodes_off_host(encoder, chunk_encoder))
        return Ingestor(writer, encoder, self.config.lemma_language, progress=progress,
                        chunk_encoder=chunk_encoder, written=written).run(items)

    def prepare_to_add(self) -> Encoder:
        """Load what adding documents needs: the model (returned), and beside it, on a thread of its own, the lemma
        dictionary (lemmas.Lemmatizer.warm). `add` calls it; a front end may call it first, to time the loading
        apart from the encoding."""
        lemmatizer(self.config.lemma_language).warm()
        return self.encoder

    def remove(self, paths_or_labels: str | Sequence[str]) -> list[str]:
        """Remove documents given by path (a folder removes everything below it) or label (one name is a list of
        one); returns labels. InputError naming every name that matches no document, and then nothing is removed,
        as `sensesearch remove` does. An empty list removes nothing and returns [] (as `add([])` adds nothing);
        None is a UsageError, as for `add`."""
        self._require_writer()
        chosen = {doc.id: doc for docs in self.matching_documents(paths_or_labels).values() for doc in docs}
        self.remove_documents(list(chosen.values()))
        return [doc.label for doc in chosen.values()]

    def matching_documents(self, paths_or_labels: str | Sequence[str]) -> dict[str, list[DocumentRow]]:
        """For each label, path (a folder: everything below it) or unique base name, the stored documents to remove,
        resolved as `-d` resolves them (catalog.named_documents): InputError for a name that matches none ("nothing
        was removed") or a base name of several files, UsageError for an empty name or for None (an empty list
        names no document: {})."""
        from .catalog import named_documents

        if paths_or_labels is None:
            raise UsageError("name the documents to remove: a label or path, or a list of them, not None")
        names = name_list(paths_or_labels, "documents") or []
        stored = {doc.id: doc for doc in self.store.all_documents()}
        consequence = "nothing was removed"
        if self.storage.dropped_on_open:
            # A removal killed after its rows were committed leaves their vectors; this open dropped them, which
            # finishes that removal: rerunning it must not hear that nothing happened, nor that nothing was done before.
            consequence = (f"nothing more was removed, but opening the index dropped {self.storage.dropped_on_open:,} "
                           "vectors whose rows an interrupted run had already removed (if that was this `remove`, "
                           "those documents are gone now)")
        return {name: [stored[entry.id] for entry in chosen if entry.id in stored]
                for name, chosen in named_documents(self.catalog(), names, consequence).items()}

    def remove_documents(self, docs: Sequence[DocumentRow]) -> None:
        """Remove stored documents: rows and vectors, in one batched pass (OccurrenceStore.remove_documents)."""
        self.storage.remove_documents(docs)

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Re-encode every stored occurrence from the sentences in the metadata store and re-train the codec.

        No corpus files are needed, only the model the index was built with (ConfigMismatchError if it
        changed). `progress` gets the number of usages (occurrences) done. Returns the number of vectors written.
        """
        self._require_writer()
        return self.storage.reencode(self.encoder.encode, progress, device_assign(self.encoder))

    def _require_writer(self) -> None:
        """IndexClosedError once closed, ReadOnlyError for an index opened read-only (sense_api asks this too)."""
        self.storage.require_writer()

    def save_vectors(self) -> None:
        """Save the vectors atomically (OccurrenceStore.save_vectors); IndexClosedError once closed, ReadOnlyError for
        an index opened read-only (neither holds the write lock that every write of the file needs)."""
        self._require_writer()
        self.storage.save_vectors()

    def recover(self) -> int:
        """Drop vectors whose rows were never committed (a crash mid-ingest); returns how many. IndexClosedError once
        closed, ReadOnlyError for an index opened read-only: a reader took a running writer's saved, not yet committed
        vectors for a crash's, dropped them and rewrote the file without the lock."""
        self._require_writer()
        return self.storage.recover()

    # ---- reading -------------------------------------------------------------------------------

    @property
    def generation(self) -> tuple[object, ...]:
        """Which generation of the index is loaded; it changes with every save or rebuild (a cache key)."""
        return self.storage.generation

    @property
    def vectors_stamp(self) -> tuple[int, int, int]:
        """Identity (inode, mtime in ns, size) of the vectors file this object has loaded; changes with each save."""
        return self.storage.vectors_stamp


def _records_only(items: Iterable[object]) -> Iterator[Document | Skipped]:
    for item in items:
        if not isinstance(item, (Document, Skipped)):
            raise UsageError(f"each item to index must be a Document, not {type(item).__name__} {item!r:.60}")
        yield item
