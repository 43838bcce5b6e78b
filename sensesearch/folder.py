"""The index folder: its file names, its single-writer lock, and what may be created in it.

Whether a folder holds an index is only decided with its write lock held (see SenseIndex.create
and open_or_create); `refuse_existing` is the rule that nothing is ever created over data files.
A writer's lock is only taken once the folder and every file a writer changes can be written
(sensesearch.access), so read-only media fail in one line before anything changes or loads.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from . import access
from .checksums import SUFFIX as CHECKSUM_SUFFIX
from .config import CONFIG_FILE, IndexConfig, encoder_differences
from .encoder import Encoder
from .errors import (ConfigMismatchError, IndexCorruptError, IndexLockedError, IndexNotFoundError, ReadOnlyError,
                     SenseSearchError)
from .vectors import VECTORS_FILE

META_FILE = "meta.sqlite"
LOCK_FILE = "write.lock"
# Every file a writer changes, replaces or deletes. Not config.json: only create and a repair of its
# dim rewrite it (and say so in one line if they cannot), so a protected config.json stops no writer.
WRITTEN_FILES = (META_FILE, META_FILE + access.WAL_SUFFIX, META_FILE + access.SHM_SUFFIX, VECTORS_FILE,
                 VECTORS_FILE + CHECKSUM_SUFFIX, LOCK_FILE)


def sqlite_url(folder: Path) -> str:
    """The SQLAlchemy URL of the metadata store kept in the index folder itself (the default)."""
    return f"sqlite:///{(folder / META_FILE).resolve()}"


def read_index_config(folder: Path) -> IndexConfig:
    """The config of the index in `folder`; IndexNotFoundError when there is no index there."""
    if not folder.is_dir():
        raise IndexNotFoundError(f"no index at {folder}: the folder does not exist")
    if not (folder / CONFIG_FILE).is_file():
        raise IndexNotFoundError(f"{folder} is not a sensesearch index (no {CONFIG_FILE})")
    return IndexConfig.load(folder)


def refuse_existing(folder: Path) -> None:
    """SenseSearchError if `folder` holds an index or any of its data files (never create over them)."""
    if (folder / CONFIG_FILE).exists():
        raise SenseSearchError(f"{folder} already holds an index; open it instead")
    found = [name for name in (META_FILE, VECTORS_FILE) if (folder / name).exists()]
    if found:
        raise IndexCorruptError(f"{folder} holds {' and '.join(found)} but no {CONFIG_FILE}: an index whose config "
                                "was lost; nothing was created over it. Restore config.json from a backup, or move "
                                "the folder away to index into a new one")


def check_encoder(folder: Path, config: IndexConfig, encoder: Encoder) -> None:
    """ConfigMismatchError naming each way a given encoder differs from what the index was built with."""
    differences = encoder_differences(config.encoder, encoder.settings) if hasattr(encoder, "settings") else []
    if config.model_fingerprint and encoder.fingerprint != config.model_fingerprint:
        differences.append(f"model fingerprint: index has {config.model_fingerprint!r}, "
                           f"encoder has {encoder.fingerprint!r}")
    if config.dim and encoder.dim != config.dim:
        differences.append(f"dim: index has {config.dim}, encoder gives {encoder.dim}")
    if differences:
        raise ConfigMismatchError(f"the encoder given does not match {folder}: " + "; ".join(differences))


def acquire_write_lock(folder: Path, timeout: float) -> FileLock:
    """The index folder's single-writer lock, or IndexLockedError after `timeout` seconds.

    ReadOnlyError, before anything is created or changed, when the folder or one of the files a
    writer changes cannot be written (read-only media, immutable or protected files).
    """
    access.check_writable(folder, WRITTEN_FILES)
    lock = FileLock(str(folder / LOCK_FILE), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexLockedError(f"another process is writing to {folder}; try again when it is done") from None
    except OSError as exc:
        raise ReadOnlyError(f"cannot write to {folder} ({exc.strerror or exc}): the index is on read-only "
                            "media or its files are protected; nothing was changed. Reading commands still "
                            "work; to change it, copy the folder somewhere writable") from None
    return lock


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
