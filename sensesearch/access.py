"""Read and write access to an index folder: how readers open SQLite, and what writers check first.

Readers never write. The metadata store is opened with SQLite's `mode=ro`; where the folder cannot be
written (read-only media, a folder of another user) `immutable=1` is added, because SQLite can read a
WAL database without write access only through an existing -shm file or when told the file cannot
change (https://www.sqlite.org/wal.html#readonly). immutable=1 ignores the -wal file, so a -wal that
still holds commits is read through its -shm file instead, or refused with what to do: answering from
an older state of the index would be a silent wrong answer.

Writers check that the folder and every file they may change can be written before they take the
lock, open the store or load a model, so read-only media or protected files cost one line and no
change on disk. The kernel's own access check answers: it refuses writes on read-only media (EROFS)
and to immutable or append-only files (EPERM) even to root, for whom permission bits never do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from .errors import ReadOnlyError, UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock probe then says nobody is writing
    fcntl = None  # type: ignore[assignment]

WAL_SUFFIX = "-wal"
SHM_SUFFIX = "-shm"


def folder_write_problem(folder: Path) -> str | None:
    """Why files cannot be created, renamed or deleted in `folder`; None when they can."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):
        pass  # no statvfs (Windows) or no folder: the access check below speaks
    if not os.access(folder, os.W_OK | os.X_OK):
        return "no write permission" if folder.exists() else "no such folder"
    return None


def file_write_problem(path: Path) -> str | None:
    """Why an existing file cannot be written; None when it can or is absent.

    Asked with access(2), never by opening the file: closing any descriptor of a file drops every
    POSIX lock this process holds on it, and SQLite keeps its locks on meta.sqlite and its -shm so.
    The kernel answers access(2) with EROFS on read-only media and EPERM for immutable files, to
    root too.
    """
    if not os.path.lexists(path) or os.access(path, os.W_OK):
        return None
    return "read-only file system" if folder_write_problem(path.parent) == "read-only file system" else \
        "write-protected (immutable, append-only or no write permission)"


def write_problems(folder: Path, names: Sequence[str]) -> list[str]:
    """What stops a writer changing `folder` and its files `names` (those that exist), one phrase each."""
    found = []
    reason = folder_write_problem(folder)
    if reason is not None:
        found.append(f"{folder}: {reason}")
    for name in names:
        reason = file_write_problem(folder / name)
        if reason is not None:
            found.append(f"{name}: {reason}")
    return found


def check_writable(folder: Path, names: Sequence[str]) -> None:
    """ReadOnlyError (one line, nothing changed) when `folder` or one of its files `names` cannot be written."""
    problems = write_problems(folder, names)
    if problems:
        raise ReadOnlyError(f"cannot write to the index at {folder} ({'; '.join(problems)}): it is on read-only "
                            "media or its files are protected; nothing was changed. Reading commands still work; "
                            "to change it, make it writable or copy the folder somewhere writable")


def check_creatable(folder: Path) -> None:
    """ReadOnlyError when `folder` cannot be made (or, if it exists, written), checked before any slow work."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot create an index at {folder}: {existing} is a file, not a folder; "
                         "nothing was changed")
    reason = folder_write_problem(existing)
    if reason is not None:
        raise ReadOnlyError(f"cannot create an index at {folder}: {existing} cannot be written ({reason}); "
                            "nothing was changed")


def make_folder(folder: Path) -> bool:
    """Create `folder` and its parents; True if it was made here. ReadOnlyError (nothing made) when it cannot be."""
    if folder.is_dir():
        return False
    check_creatable(folder)
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ReadOnlyError(f"cannot create the index folder {folder} ({exc.strerror or exc}); "
                            "nothing was changed") from None
    return True


def sqlite_read_uri(database: Path) -> str:
    """The SQLite URI that reads `database` without ever writing to it or creating a file beside it on read-only media.

    `mode=ro` where the folder can be written (SQLite then shares the -shm with writers, so a reader
    sees each commit whole); `mode=ro&immutable=1` where it cannot and no -wal holds commits;
    ReadOnlyError where a -wal holds commits that only its missing -shm file would let SQLite read.
    """
    # The name's bytes, percent-encoded: a folder's name may hold bytes that are not UTF-8 (PEP 383).
    base = "file:" + quote(os.fsencode(database.absolute()), safe="/")
    if folder_write_problem(database.parent) is None:
        return base + "?mode=ro"
    wal = database.with_name(database.name + WAL_SUFFIX)
    try:
        pending = wal.stat().st_size > 0
    except OSError:
        pending = False
    if not pending:
        return base + "?mode=ro&immutable=1"
    if database.with_name(database.name + SHM_SUFFIX).exists():
        return base + "?mode=ro"
    raise ReadOnlyError(f"{wal} holds commits not yet copied into {database.name}, and on read-only media SQLite can "
                        f"read them only with its {SHM_SUFFIX} file, which is missing; where the folder can be written, "
                        "run `sensesearch verify --repair --no-model` on it once (a writer's close copies them "
                        "in), or copy the folder somewhere writable")


def lock_holder(lock_file: Path) -> str:
    """Who holds the write lock in `lock_file`, as "process 1234: sensesearch index corpora ...", or "" where that
    cannot be told (not Linux, a lock held on another machine's mount, a process of another user)."""
    try:
        found = os.stat(lock_file)
        with open("/proc/locks", encoding="ascii", errors="replace") as table:
            rows = table.read().splitlines()
    except OSError:
        return ""
    # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:3113413 0 EOF": the holder's pid and the file's device (hex) and inode.
    place = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    for row in rows:
        fields = row.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == place and fields[4].isdigit():
            return f"process {fields[4]}" + _command_of(fields[4])
    return ""


def _command_of(pid: str) -> str:
    """": COMMAND LINE" of process `pid` (its first 100 characters), "" when it cannot be read."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as source:
            words = source.read(4096).split(b"\0")
    except OSError:
        return ""
    shown = " ".join(os.fsdecode(w) for w in words if w)
    return f": {shown[:100]}{'...' if len(shown) > 100 else ''}" if shown else ""


def lock_held(lock_file: Path) -> bool:
    """Whether another process holds the write lock in `lock_file`; only looks, never creates the file.

    A shared flock on a read-only handle conflicts with the writer's exclusive one, and needs no write
    access, so the probe works on read-only media too. No lock file means no writer has run.
    """
    if fcntl is None:
        return False
    try:
        handle = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    finally:
        os.close(handle)
