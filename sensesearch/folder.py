"""The index folder: its file names, its single-writer lock, and what may be created in it.

Whether a folder holds an index is only decided with its write lock held (see SenseIndex.create
and open_or_create); `refuse_existing` is the rule that nothing is ever created over data files.
A writer's lock is only taken once the folder and every file a writer changes can be written
(sensesearch.access), so read-only media fail in one line before anything changes or loads.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from filelock import FileLock, Timeout

from . import access, dburl
from .checksums import SUFFIX as CHECKSUM_SUFFIX
from .claim import INDEX_ID_KEY
from .config import CONFIG_FILE, IndexConfig, encoder_differences
from .dbengine import sqlite_file
from .encoder import Encoder
from .migrations import MIGRATIONS
from .foldchanges import FOLD_CHANGES, FOLD_VERSION, older_words
from .store import MetaStore
from .wordrows import FOLD_VERSION_KEY
from .durable import failure_kind
from .errors import (ConfigMismatchError, IndexCorruptError, IndexExistsError, IndexLockedError, IndexNotFoundError,
                     ReadOnlyError)
from .vectors import VECTORS_FILE, VectorStore

log = logging.getLogger(__name__)

META_FILE = "meta.sqlite"
LOCK_FILE = "write.lock"
# Every file a writer changes, replaces or deletes. Not config.json: only create and a repair of its
# dim rewrite it (and say so in one line if they cannot), so a protected config.json stops no writer.
WRITTEN_FILES = (META_FILE, META_FILE + access.WAL_SUFFIX, META_FILE + access.SHM_SUFFIX, VECTORS_FILE,
                 VECTORS_FILE + CHECKSUM_SUFFIX, LOCK_FILE)
BOOKKEEPING = {"settings": ("SELECT key FROM settings",
                            {("schema_version",), ("sense_inventory_schema",), (INDEX_ID_KEY,), (FOLD_VERSION_KEY,)}),
               "migrations": ("SELECT number, name FROM migrations",
                              {(number, function.__name__) for number, function in MIGRATIONS})}
"""The tables a new metadata store fills when it is made, and every row they may then hold (its schema versions,
the migrations applied, the claim of the index being made): rows like these say nothing was indexed; any other
row is someone's data."""


def sqlite_url(folder: Path) -> str:
    """The SQLAlchemy URL of the metadata store kept in the index folder itself (the default)."""
    return f"sqlite:///{(folder / META_FILE).resolve()}"


def store_url(folder: Path, config: IndexConfig) -> str:
    """The URL of the metadata store of the existing index at `folder` (its `config`), once a SQLite store's file is
    found there: IndexCorruptError naming the path looked for when it is not. Connecting makes a missing SQLite file,
    and an empty store made so had been taken for the index's: a writer dropped every vector as "left by an
    interrupted run", and `verify --repair` with them. An index made with a relative `--db` path (before these were
    stored absolute, dburl.with_absolute_path) finds its store only from the folder it was made in; config.json
    cannot be edited to name it otherwise, as its checksum then stops every writer."""
    if config.db_url is None:
        if not (folder / META_FILE).is_file():
            raise IndexCorruptError(f"{folder / META_FILE} is missing: the index's sentences are gone; restore it from "
                                    "a backup or index the corpus into a new folder")
        return sqlite_url(folder)
    database = sqlite_file(config.db_url)
    if database is None or database.is_file():
        return config.db_url
    if not database.is_absolute():
        raise IndexCorruptError(
            f"the metadata store of {folder} is not at {Path.cwd() / database}: config.json names it "
            f"{dburl.redact(config.db_url)}, a path SQLite reads from the current folder; run sensesearch from the "
            "folder the index was made in (nothing was created or dropped)")
    raise IndexCorruptError(f"the metadata store of {folder}, {database}, is missing: the index's sentences are gone "
                            "unless it was moved; put it back there, restore it from a backup or index the corpus "
                            "into a new folder")


def read_index_config(folder: Path) -> IndexConfig:
    """The config of the index in `folder`; IndexNotFoundError when there is no index there."""
    if not folder.is_dir():
        what = "is a file, not an index folder" if folder.exists() else "does not exist"
        raise IndexNotFoundError(f"no index at {folder}: it {what}")
    if not (folder / CONFIG_FILE).is_file():
        raise IndexNotFoundError(f"{folder} is not a sensesearch index (no {CONFIG_FILE})")
    return IndexConfig.load(folder)


def refuse_existing(folder: Path) -> None:
    """IndexExistsError if `folder` holds an index or any of its data files (never create over them).

    The one exception is what a create killed before it wrote config.json leaves behind (see
    `discard_unfinished_create`): files that provably hold nothing are removed, so that running the
    same command again makes the index instead of asking the user to move the folder away.
    """
    if (folder / CONFIG_FILE).exists():
        raise IndexExistsError(f"{folder} already holds an index; open it instead")
    if discard_unfinished_create(folder):
        return
    found = [name for name in (META_FILE, VECTORS_FILE) if (folder / name).exists()]
    if found:
        raise IndexCorruptError(f"{folder} holds {' and '.join(found)} but no {CONFIG_FILE}: an index whose config "
                                "was lost; nothing was created over it. Restore config.json from a backup, or move "
                                "the folder away to index into a new one")


def discard_unfinished_create(folder: Path) -> bool:
    """Remove the files of an index whose creation stopped before config.json was written; True if there were any.

    Only when every one of them provably holds nothing: the metadata store has no rows but BOOKKEEPING's, and
    the vectors file holds no vector (or was never finished: only its temporary file is there). A file that
    cannot be read counts as data, so it is kept and refused as before. Call with the folder's write lock held
    and config.json absent. The system's error for it (durable.failure_kind) when a leftover cannot be removed.
    """
    meta, vectors = folder / META_FILE, folder / VECTORS_FILE
    temporary = [folder / f"{name}.tmp" for name in (VECTORS_FILE, VECTORS_FILE + CHECKSUM_SUFFIX, CONFIG_FILE)]
    beside_meta = [meta.with_name(META_FILE + suffix) for suffix in (access.WAL_SUFFIX, access.SHM_SUFFIX, "-journal")]
    leftovers = [meta, *beside_meta, vectors, vectors.with_name(VECTORS_FILE + CHECKSUM_SUFFIX), *temporary]
    if not any(path.exists() for path in leftovers) or not (_holds_no_rows(meta) and _holds_no_vectors(vectors)):
        return False
    for path in leftovers:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise failure_kind(exc)(f"cannot remove {path}, left by an interrupted creation of this index "
                                    f"({exc.strerror or exc}); remove it by hand, then run the command again") from None
    log.warning("removed the empty files of an index at %s whose creation was interrupted; making it anew", folder)
    return True


def _holds_no_rows(meta: Path) -> bool:
    if not meta.exists():
        return True
    try:
        # A plain connection, so that rows still in the write-ahead log are counted too.
        with closing(sqlite3.connect(meta)) as conn:
            kinds = {kind for (kind,) in conn.execute("SELECT type FROM sqlite_master")}
            if not kinds <= {"table", "index"}:  # views and triggers are someone's, not a create's
                return False
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for name in tables:
                query, allowed = BOOKKEEPING.get(name, (f'SELECT 1 FROM "{name}" LIMIT 1', set()))
                if not {tuple(row) for row in conn.execute(query)} <= allowed:
                    return False
            return True
    except sqlite3.Error:
        return False


def _holds_no_vectors(vectors: Path) -> bool:
    if not vectors.exists():
        return True
    try:
        return VectorStore.load(vectors).ntotal == 0
    except (IndexCorruptError, OSError):
        return False


def check_encoder(folder: Path, config: IndexConfig, encoder: Encoder) -> None:
    """ConfigMismatchError naming each way an encoder (given, or loaded from the index's recipe) differs from what
    the index was built with: settings, weights and tokenizer fingerprints, dimension."""
    differences = encoder_differences(config.encoder, encoder.settings) if hasattr(encoder, "settings") else []
    if config.model_fingerprint and encoder.fingerprint != config.model_fingerprint:
        differences.append(f"model fingerprint: index has {config.model_fingerprint!r}, "
                           f"encoder has {encoder.fingerprint!r}")
    tokenizer = getattr(encoder, "tokenizer_fingerprint", "")
    if config.tokenizer_fingerprint and tokenizer != config.tokenizer_fingerprint:
        differences.append(f"tokenizer fingerprint: index has {config.tokenizer_fingerprint!r}, "
                           f"encoder has {tokenizer!r}")
    if config.dim and encoder.dim != config.dim:
        differences.append(f"dim: index has {config.dim}, encoder gives {encoder.dim}")
    if differences:
        raise ConfigMismatchError(f"the model does not match the index at {folder}: " + "; ".join(differences))


def check_word_rules(folder: Path, config: IndexConfig, encoder: Encoder) -> None:
    """ConfigMismatchError for adding to an index made before words were split past a pre-tokenizer that is not
    BERT's (wordbounds.py; such indexes record no tokenizer fingerprint): its stored words keep the spaces and
    punctuation of that time, so words added now would be other words, and `usages` would find only the new ones."""
    if not config.tokenizer_fingerprint and getattr(getattr(encoder, "planner", None), "splits_words", False):
        raise ConfigMismatchError(f"{folder} was made before sensesearch cut {config.encoder.model}'s words at "
                                  "punctuation and white space as BERT does; its stored words would not match new "
                                  "ones: index the corpus into a new folder")


def check_stored_words(folder: Path, store: MetaStore) -> None:
    """ConfigMismatchError for adding to an index that holds words a change of `fold` made since cuts or keys otherwise
    (foldchanges.FOLD_CHANGES: "bank👍🏽" was one word, now "bank" and an emoji; "كـتـب" kept its tatweel): words
    added now would not match them, so `usages` would find only the old ones or only the new. Names a few such words
    and their documents, which `remove` then index again. An index that holds none is recorded as cut by today's
    rules (WordRows.record_fold_version), so its words are read once. Words of an index made after a change that
    this sensesearch lacks would not match its words either: ConfigMismatchError too.
    It had let the words a symbol was written against and every change of `fold` before 2026-12-03 pass."""
    made = store.fold_version()
    if made > FOLD_VERSION:
        raise ConfigMismatchError(f"{folder} was made by a newer sensesearch, whose word rules ({made} changes) this "
                                  f"one ({FOLD_VERSION}) lacks: words added now would not match its words; add with "
                                  "that sensesearch or a newer one")
    if made == FOLD_VERSION:
        return
    log.info("reading the words of %s once for words that %d later changes of the word rules cut otherwise",
             folder, FOLD_VERSION - made)
    found = older_words(store.stored_words(), FOLD_CHANGES[made:])
    if found is not None:
        raise ConfigMismatchError(f"{folder} holds {found}")
    store.record_fold_version()


LockWait = Callable[[str | None], None]
"""Told, before a writer waits for the lock another process holds, who holds it (access.lock_holder, "" if unknown),
and None once the lock is its own, waited for or not: a front end shows the wait, then what follows it (a model
loading had been shown through the wait)."""


def acquire_write_lock(folder: Path, timeout: float, remake: bool = False, waiting: LockWait | None = None
                       ) -> FileLock:
    """The index folder's single-writer lock, or IndexLockedError after `timeout` seconds (`waiting` hears a wait).

    ReadOnlyError, before anything is created or changed, when the folder or one of the files a
    writer changes cannot be written (read-only media, immutable or protected files). A folder removed
    while this waits (a run that made the index there and failed removes it, lock file last) is made
    again and waited on for the rest of `timeout` when the caller makes an index where there is none
    (`remake`), else IndexNotFoundError.
    """
    access.check_writable(folder, WRITTEN_FILES)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        # Tried at once first, so that a wait is told before it starts, not after it ends.
        left = 0.0 if waiting is not None and not told else max(0.0, deadline - time.monotonic())
        lock = FileLock(str(folder / LOCK_FILE), timeout=left)
        try:
            lock.acquire()
            if waiting is not None:
                waiting(None)
            return lock
        except Timeout:
            if waiting is not None and not told and timeout > 0:
                told = True
                waiting(access.lock_holder(folder / LOCK_FILE))
                continue
            raise IndexLockedError(f"another process is writing to {folder}; try again when it is done") from None
        except FileNotFoundError:
            if folder.is_dir():
                raise
            if not remake:
                raise IndexNotFoundError(f"{folder} was removed while this run waited to write to it") from None
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReadOnlyError(f"cannot write to {folder} ({exc.strerror or exc}): the index is on read-only "
                                "media or its files are protected; nothing was changed. Reading commands still "
                                "work; to change it, copy the folder somewhere writable") from None


def check_write_access(folder: Path) -> None:
    """ReadOnlyError (one line) when an index at `folder` cannot be changed or, if there is none yet, created.

    Cheap (no lock, no model): front ends call it before they show progress or load anything.
    """
    if folder.is_dir():
        access.check_writable(folder, WRITTEN_FILES)
    else:
        access.check_creatable(folder)


def writer_active(folder: Path) -> bool:
    """Whether another process holds the folder's write lock; only looks (no lock file is created)."""
    return access.lock_held(folder / LOCK_FILE)
