"""Which named inputs are files to read: names checked, folders listed, odd files set aside, nothing opened.

Runs before anything slow (the model load), so that a mistyped or empty name fails at once and every
input that will not be read (a named pipe, a socket, a device, a symbolic-link loop, a broken link,
an unreadable folder) is known, with its reason, before the first document is encoded. A named pipe
is never opened: opening one blocks until some other process writes to it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .decoding import HEAD_BYTES, check_head
from .errors import InputError, UsageError
from .records import Skipped
from .sidecar import SIDECAR_NAME
from .visible import quoted

TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
STDIN = "-"
_NOT_BYTES = re.compile("[\ud800-\udc7f\udd00-\udfff]")


@dataclass
class InputScan:
    """The regular files to read, in a stable order (Path("-") for stdin), the inputs left out, with why, and the
    names the scan was made of."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def path_text(path: str | Path) -> str:
    """A path as storable text: bytes of a non-UTF-8 file name are spelt as \\xNN escapes, not dropped.

    Such bytes reach Python as the surrogates U+DC80..U+DCFF (PEP 383); any other lone surrogate comes from
    Python text, not from a file system, and cannot be encoded: it becomes U+FFFD, as normalize.clean_text
    stores it in a label, so a name holding one finds that label instead of failing to encode."""
    return os.fsencode(fs_name(path)).decode("utf-8", "backslashreplace")


def fs_name(path: str | Path) -> str:
    """`path` as text the file system can be asked about: lone surrogates other than PEP 383's bytes become U+FFFD
    (see path_text), so os calls on it never raise UnicodeEncodeError."""
    return _NOT_BYTES.sub("\ufffd", os.fspath(path))


def check_names(names: Iterable[str | Path], what: str = "file or folder") -> list[str]:
    """`names` as a list; UsageError for an empty or blank one, which would otherwise mean the current folder, and
    for one that is neither text nor a path (None had become a folder named "None").

    An unset shell variable (`sensesearch remove "$DOC"`) gives an empty name; a name that is all
    white space is as unlikely to be meant. Either widens an operation to everything under ".".
    """
    listed = []
    for name in names:
        if not isinstance(name, (str, os.PathLike)):
            raise UsageError(f"a {what} name must be text or a path, not {type(name).__name__} {name!r}")
        listed.append(os.fspath(name))
    for name in listed:
        if not name.strip():
            # Only where reading is all it does: for `remove` or -d, "." names every document indexed from here.
            advice = "; write . for the current folder" if what == "file or folder" else ""
            raise UsageError(f"an empty {what} name ({name!r}) names nothing (is a shell variable unset?){advice}")
    return listed


def scan_inputs(names: Iterable[str | Path]) -> InputScan:
    """Classify each named input without opening it: files, folders (recursively: .txt, .md, .jsonl), "-".

    Raises UsageError for an empty name and InputError naming every input that does not exist.
    Inside folders only files with a corpus suffix are considered; symbolic links to folders are
    not followed there (as `grep -r` does), but named on the command line they are.
    """
    scan = InputScan(names=check_names(names))
    missing: list[str] = []
    for name in scan.names:
        if name == STDIN:
            scan.files.append(Path(STDIN))
            continue
        path = Path(name)
        kind, reason = _classify(path)
        if kind == "missing":
            missing.append(path_text(path))
        elif kind == "dir":
            _walk(path, scan)
        elif kind == "file":
            scan.files.append(path)
        else:
            scan.skipped.append(Skipped(path_text(path), reason))
    if missing:
        raise InputError("no such file or folder: " + quoted(missing))
    return scan


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; InputError for anything else (checked on the open file, so never blocks) and
    for a file whose first bytes make it binary (decoding.check_head), before the rest is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(_os_reason(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(_kind_reason(mode))
        check_head(handle.read(HEAD_BYTES))
        handle.seek(0)  # read whole again rather than joined to the head, which would hold the text twice
        return handle.read()


READ_KINDS = "/".join(sorted(TEXT_SUFFIXES | JSONL_SUFFIXES))
SHOWN_OTHERS = 3
"""Names given in the one line that says what a folder's files of other kinds were (the rest are counted)."""


def _walk(folder: Path, scan: InputScan) -> None:
    found: list[Path] = []
    skipped: list[Skipped] = []
    others: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            skipped.append(Skipped(path_text(current), f"cannot list folder: {_os_reason(exc)}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
            elif entry.is_symlink() and _links_to_folder(path):
                skipped.append(Skipped(path_text(path), "symbolic link to a folder: not followed inside a folder "
                                                        "(name it on the command line to index it)"))
            elif path.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES:
                kind, reason = _classify(path)
                if kind == "file":
                    found.append(path)
                else:
                    skipped.append(Skipped(path_text(path), reason))
            elif not entry.name.startswith(".") and entry.name != SIDECAR_NAME:
                others.append(path_text(path.relative_to(folder)))
    if others:
        # Said once per folder, not file by file: a folder of scans or PDFs would bury the report.
        skipped.append(Skipped(path_text(folder), f"left out {len(others)} file{'s' * (len(others) != 1)} not "
                                                  f"named {READ_KINDS} ({quoted(sorted(others), SHOWN_OTHERS)}); name one to read it as text"))
    elif not found and not skipped:
        skipped.append(Skipped(path_text(folder), f"folder holds no {READ_KINDS} files"))
    scan.files.extend(sorted(found))
    scan.skipped.extend(sorted(skipped, key=lambda s: s.path))


def _links_to_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _classify(path: Path) -> tuple[str, str]:
    """("file" | "dir" | "missing" | "skip", reason) of a path, by stat alone."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            try:
                target = os.readlink(path)
            except OSError:
                return "missing", ""
            return "skip", f"broken symbolic link (to {path_text(target)})"
        return "skip", _os_reason(exc)
    if stat.S_ISDIR(mode):
        return "dir", ""
    if stat.S_ISREG(mode):
        return "file", ""
    return "skip", _kind_reason(mode)


def _kind_reason(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: not read (pipe it to stdin with - instead)"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    return "not a regular file"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (a link that leads back to itself)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"
