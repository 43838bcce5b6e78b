"""Opening an index folder: create a new index, open an existing one, or either under one write lock.

The rules that keep a folder's files trustworthy live here: whether an index exists is decided with
the folder's write lock held, nothing is created over an existing metadata store or vectors file, an
encoder handed in must match config.json, and a failed create leaves the disk as it was. SenseIndex
(index.py) inherits these constructors; they build it through `cls`, so this module never imports it.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Self

from filelock import FileLock

from . import access, checksums, dburl
from .arguments import flag
from .claim import claim, new_index_id, release_outside_store
from .config import CONFIG_FILE, DEFAULT_COMPRESSION, EncoderSettings, IndexConfig, encoder_differences
from .dbengine import check_reachable
from .encoder import Encoder, load_encoder
from .errors import ConfigMismatchError, IndexExistsError, UsageError
from .folder import (LOCK_FILE, META_FILE, LockWait, acquire_write_lock, check_encoder, read_index_config, refuse_existing,
                     sqlite_url)
from .inputs import check_names
from .lemmas import DEFAULT_LANGUAGE, parse_language
from .storage import OccurrenceStore
from .vectors import VECTORS_FILE


class IndexOpening:
    """The constructors of SenseIndex (see the module docstring)."""

    created: bool = False
    """True for an index this object's `create` made (`open_or_create` too may have): a front end that fails
    afterwards undoes only an index it made, never one another process made meanwhile."""

    @classmethod
    def create(cls, path: str | Path, model: str | None = None, *, settings: EncoderSettings | None = None,
               compression: str = DEFAULT_COMPRESSION, db_url: str | None = None, encoder: Encoder | None = None,
               device: str | None = None, lock_timeout: float = 0, lemma_language: str = DEFAULT_LANGUAGE,
               _lock: FileLock | None = None) -> Self:
        """Make a new, empty index at `path` (a folder that must not hold an index yet).

        Whether an index is there is decided once the folder's write lock is held, and nothing is
        ever created over an existing metadata store or vectors file. On any error the disk is left
        as it was (ConfigMismatchError for bad settings, before anything is created or loaded), a metadata
        store outside the folder included. IndexExistsError when `db_url` names a store that holds rows or
        that another index has claimed (sensesearch.claim).
        `lemma_language`: ISO 639 code(s) of the lemmatiser for words' lemmas ("en", "de,en").
        """
        _check_options(settings=settings, model=model, lock_timeout=lock_timeout, lemma_language=lemma_language)
        parse_language(lemma_language)
        folder = Path(check_names([path], "index folder")[0])
        if folder.exists() and not folder.is_dir():
            raise IndexExistsError(f"{folder} exists and is not a folder")
        # An encoder handed in brings its own recipe unless settings are given to check it against.
        settings = settings or (encoder.settings if encoder is not None else EncoderSettings())
        if model is not None:
            settings = EncoderSettings(**{**settings.__dict__, "model": model})
        IndexConfig(encoder=settings, compression=compression)
        if db_url is not None:
            dburl.check_url(db_url)  # SQLite or PostgreSQL, before the model loads
        if _lock is None and (folder / CONFIG_FILE).exists():
            raise IndexExistsError(f"{folder} already holds an index; open it instead")
        if _lock is None:
            access.check_creatable(folder)  # read-only media: one line before the model loads
            if db_url is not None:  # open_or_create asks before it takes the lock (and says "loading the model")
                check_reachable(db_url)
        encoder = encoder or load_encoder(settings, device)
        check_encoder(folder, IndexConfig(encoder=settings, model_fingerprint=encoder.fingerprint, dim=encoder.dim),
                      encoder)
        # Stored with a SQLite path made absolute: SQLite reads a relative one from whatever folder a later run is in.
        db_url = dburl.with_absolute_path(dburl.with_namespace(db_url, folder)) if db_url else None
        index_id = new_index_id()
        config = IndexConfig(encoder=settings, model_fingerprint=encoder.fingerprint, dim=encoder.dim,
                             compression=compression, db_url=db_url, lemma_language=lemma_language, index_id=index_id,
                             tokenizer_fingerprint=getattr(encoder, "tokenizer_fingerprint", ""))
        made_folder = access.make_folder(folder)
        lock = _lock or acquire_write_lock(folder, lock_timeout, remake=True)
        made: list[Path] = []
        storage: OccurrenceStore | None = None
        try:
            refuse_existing(folder)
            made = [folder / name for name in (META_FILE, META_FILE + "-wal", META_FILE + "-shm", VECTORS_FILE,
                                               VECTORS_FILE + checksums.SUFFIX, CONFIG_FILE)]
            storage = OccurrenceStore.create(folder, config, lock=lock)
            index = cls(storage, encoder=encoder, device=device)
            index.created = True
            config.save(folder)
            # Claimed once config.json is written: a create killed before that leaves an outside store free for the
            # same command run again, since no file of it lies in the folder for discard_unfinished_create to find.
            claim(storage.meta.engine, index_id, storage.meta.url)
        except BaseException:
            if storage is not None:
                storage.meta.close()
                release_outside_store(folder, config)
            for leftover in made:
                leftover.unlink(missing_ok=True)
            if _lock is None:
                lock.release()
                if made_folder:
                    (folder / LOCK_FILE).unlink(missing_ok=True)
                    if not any(folder.iterdir()):
                        folder.rmdir()
            raise
        return index

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, encoder: Encoder | None = None,
             device: str | None = None, lock_timeout: float = 0, lock_wait: LockWait | None = None,
             _lock: FileLock | None = None) -> Self:
        """Open an existing index; a writer takes the folder's lock and drops vectors left by a crash (`lock_wait`
        hears a wait for that lock, as in open_or_create).

        An `encoder` given here must match config.json (model, fingerprint, dimension): ConfigMismatchError.
        """
        _check_options(lock_timeout=lock_timeout, lock_wait=lock_wait)
        read_only = flag(read_only, "read_only")
        folder = Path(check_names([path], "index folder")[0])
        config = read_index_config(folder)
        if encoder is not None:
            check_encoder(folder, config, encoder)
        lock = _lock or (None if read_only else acquire_write_lock(folder, lock_timeout, waiting=lock_wait))
        try:
            storage = OccurrenceStore.open(folder, config, read_only=read_only, lock=lock)
            index = cls(storage, encoder=encoder, device=device)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return index

    @classmethod
    def open_or_create(cls, path: str | Path, settings: EncoderSettings | None = None, *,
                       compression: str | None = None, db_url: str | None = None, encoder: Encoder | None = None,
                       device: str | None = None, lock_timeout: float = 0,
                       lemma_language: str | None = None, lock_wait: LockWait | None = None) -> Self:
        """Open the index at `path` for writing, checking `settings` against it, or create it.

        `compression`, `db_url` and `lemma_language` are a new index's (sq8, SQLite in the folder and English when
        None); given for an existing index, they must be its own (ConfigMismatchError otherwise).

        The choice is made with the folder's write lock held, so two processes started together
        make one index between them, never two over each other. `lock_wait` hears a wait for that lock: who holds it
        before, None after (folder.LockWait).
        """
        _check_options(settings=settings, lock_timeout=lock_timeout, lemma_language=lemma_language,
                       lock_wait=lock_wait)
        folder = Path(check_names([path], "index folder")[0])
        if folder.exists() and not folder.is_dir():
            raise IndexExistsError(f"{folder} exists and is not a folder")
        if db_url is not None and not (folder / CONFIG_FILE).exists():
            check_reachable(db_url)  # a new index's store: before the folder is made and the lock's waiter hears of it
        made_folder = access.make_folder(folder)
        lock = acquire_write_lock(folder, lock_timeout, remake=True, waiting=lock_wait)
        try:
            if not (folder / CONFIG_FILE).exists():
                return cls.create(path, settings=settings, compression=compression or DEFAULT_COMPRESSION,
                                  db_url=db_url, encoder=encoder,
                                  device=device, lemma_language=lemma_language or DEFAULT_LANGUAGE, _lock=lock)
            index = cls.open(path, encoder=encoder, device=device, _lock=lock)
        except BaseException:
            lock.release()
            if made_folder and not (folder / CONFIG_FILE).exists():
                (folder / LOCK_FILE).unlink(missing_ok=True)
                if not any(folder.iterdir()):
                    folder.rmdir()
            raise
        try:
            check_reopen(path, index.config, settings, compression=compression, db_url=db_url,
                         lemma_language=lemma_language)
        except BaseException:  # any error, not only a mismatch: the write lock stayed held by an object never returned
            index.close()
            raise
        return index


def _check_options(*, settings: object = None, model: object = None, lock_timeout: object = 0,
                   lemma_language: object = None, lock_wait: object = None) -> None:
    """UsageError for a constructor's argument of the wrong type, before any lock is taken or model loaded: a settings
    or model given as other than EncoderSettings or text, a lemma language that is not text, or a lock timeout that
    is not a number of seconds from 0 (each had failed as a raw AttributeError or TypeError)."""
    if settings is not None and not isinstance(settings, EncoderSettings):
        raise UsageError(f"settings must be an EncoderSettings (or None), not {type(settings).__name__} "
                         f"{settings!r:.60}")
    if model is not None and not isinstance(model, str):
        raise UsageError(f"model must be a model name (text) or None, not {type(model).__name__} {model!r:.60}")
    if lemma_language is not None and not isinstance(lemma_language, str):
        raise UsageError(f"lemma_language must be text such as 'en' or 'de,en', not {type(lemma_language).__name__} "
                         f"{lemma_language!r:.60}")
    if (isinstance(lock_timeout, bool) or not isinstance(lock_timeout, numbers.Real)
            or math.isnan(lock_timeout) or lock_timeout < 0):
        raise UsageError(f"lock_timeout must be a number of seconds from 0, not {lock_timeout!r:.60}")
    if lock_wait is not None and not callable(lock_wait):
        raise UsageError(f"lock_wait must be a function (or None), not {type(lock_wait).__name__} {lock_wait!r:.60}")


def check_reopen(path: str | Path, config: IndexConfig, settings: EncoderSettings | None = None, *,
                 compression: str | None = None, db_url: str | None = None, lemma_language: str | None = None) -> None:
    """ConfigMismatchError when settings given for the existing index at `path` (its `config`) are not its own.

    Reads nothing but `config`, so a front end calls it before any progress or model load; `open_or_create`
    calls it again under the folder's write lock. None means "the index's own".
    """
    stored_db = config.db_url or sqlite_url(Path(path))
    if db_url is not None and not dburl.same_database(stored_db, db_url):
        raise ConfigMismatchError(f"{path} keeps its metadata in {dburl.redact(stored_db)}, "
                                  f"not {dburl.redact(db_url)}; leave out --db for an existing index")
    if compression is not None and compression != config.compression:
        raise ConfigMismatchError(f"{path} stores its vectors as {config.compression}, not {compression}; "
                                  "leave out --compression for an existing index")
    if lemma_language is not None and parse_language(lemma_language) != parse_language(config.lemma_language):
        raise ConfigMismatchError(f"{path} keeps lemmas for {config.lemma_language!r}, not "
                                  f"{lemma_language!r}; leave out --lemma-language for an existing index")
    differences = encoder_differences(config.encoder, settings) if settings is not None else []
    if differences:
        raise ConfigMismatchError(f"{path} was built with other settings: " + "; ".join(differences))
