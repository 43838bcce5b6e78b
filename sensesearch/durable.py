"""Durable replacement of a whole file: written beside its target, flushed to disk, renamed over it, folder flushed.

A crash leaves the old file or the new one, never a mix. The data is flushed before the rename, so
a power loss cannot leave the new name over blocks that never reached the disk (ext4's and XFS's
delayed allocation can); the folder is flushed after it, so the new name itself survives. Every
index file rewritten whole (vectors.faiss, config.json) is saved through here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from .errors import ReadOnlyError, SenseSearchError, StorageError, StorageUnavailableError

NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
"""A full disk or a used-up quota: a save that may pass once room is made."""

REFUSED = (errno.EROFS, errno.EACCES, errno.EPERM)
"""Read-only media or protected files: the save is refused where the index lies."""


def replace_durably(path: Path, write: Callable[[Path], None], what: str, advice: str = "",
                    before_rename: Callable[[Path], None] | None = None) -> None:
    """Save `path` anew: `write(tmp)` fills a temporary file beside it, which is flushed to disk and handed to
    `before_rename` (to record its checksum, say), then renamed over `path`; the folder is flushed last.

    On any failure the temporary file is deleted and `path` is left as it was. An OSError or a
    RuntimeError (how FAISS reports I/O errors) becomes one line: "cannot save PATH (reason); the previous
    WHAT is unchanged" (or "no WHAT was written" where there was none) and `advice`, as the failure's kind
    (`failure_kind`): the system's, never the caller's.
    """
    tmp = path.with_name(path.name + ".tmp")
    existed = path.exists()
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename(tmp)
        tmp.replace(path)
    except (OSError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        text = str(exc).strip()
        reason = getattr(exc, "strerror", None) or (text.splitlines()[-1] if text else type(exc).__name__)
        # Only a file that was there stays unchanged: a new index's first save, or a folder deleted under the
        # command, has none (the advice still says what to do).
        kept = f"the previous {what} is unchanged" if existed and path.exists() else f"no {what} was written"
        raise failure_kind(exc)(f"cannot save {path} ({reason[:160]}); {kept}{advice}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def failure_kind(exc: OSError | RuntimeError) -> type[SenseSearchError]:
    """The error a failed save or removal is: StorageUnavailableError for a full disk (NO_ROOM), ReadOnlyError
    where writing is refused (REFUSED), StorageError otherwise. FAISS gives no errno, only strerror's text."""
    said = str(exc)
    if getattr(exc, "errno", None) in NO_ROOM or any(os.strerror(code) in said for code in NO_ROOM):
        return StorageUnavailableError
    if getattr(exc, "errno", None) in REFUSED:
        return ReadOnlyError
    return StorageError
