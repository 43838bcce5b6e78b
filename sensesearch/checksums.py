"""Checksums written with each atomic save, so that changed bytes (disk damage, an edit) are found, not served.

A vectors file gets a `<name>.sum` beside it (SHA-256 of its bytes, hashed as they are written:
HashingWriter), written after the new file is flushed and before it is renamed into place; the sum
keeps the previous file's digest too, so a crash between the two renames never makes a sound file
look damaged. Sums written before SHA-256
(BLAKE2b, `{"blake2b": ..., "previous": ...}`) are still read and checked. config.json carries its own
checksum over its canonical content (see config.IndexConfig).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .lane import Lane

SUFFIX = ".sum"
CHUNK = 1 << 20
FILE_ALGORITHM = "sha256"
"""Every vectors save hashes the whole file, and opening for writing hashes it again: SHA-256 runs on
the CPU's SHA extensions (x86 SHA-NI, ARMv8), 1.7 GB/s here against BLAKE2b's 0.88 GB/s."""
HASH_AHEAD = 16
"""Pieces (FAISS hands over 1 MiB at a time) written but not yet hashed, at most."""
FILE_HASHES: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256,
                                             "blake2b": lambda: hashlib.blake2b(digest_size=32)}
"""The algorithms a sum file may name: FILE_ALGORITHM, and the 32-byte BLAKE2b of older indexes."""


def file_digest(path: Path, algorithm: str = FILE_ALGORITHM) -> str:
    """Hex digest of a file's bytes by one of FILE_HASHES, read in 1 MiB chunks."""
    digest = FILE_HASHES[algorithm]()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashingWriter:
    """Bytes written to a file while FILE_ALGORITHM hashes them on a thread of its own, so that a save and its
    checksum overlap instead of the file being read back after it is written.

    Use as a context manager: `write` each piece in file order, then `hexdigest()` inside the block. hashlib
    lets go of Python's lock while it hashes a large piece, so the hashing runs beside the writing.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = FILE_HASHES[FILE_ALGORITHM]()
        self.lane = Lane(depth=HASH_AHEAD, name="sensesearch-hash")

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is not None:
            self.lane.drop()
        self.lane.close()

    def write(self, data: bytes) -> None:
        self.lane.submit(partial(self.digest.update, data))
        self.handle.write(data)

    def hexdigest(self) -> str:
        """The digest of everything written, once the hashing thread has caught up."""
        self.lane.flush()
        return self.digest.hexdigest()


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


def _sums(path: Path) -> dict[str, str] | None:
    """The sum file of `path` as written: None when there is none, or when it records no digest to check against.

    A sum file that is there but holds no digest (empty, cut short, `{}`, a digest that is not hex text) had passed
    as none when it was not JSON (so a reader said it was "missing") and as a recorded sum when it was an object
    (so verify said the vectors' bytes had changed, and readers let them through unchecked).
    """
    try:
        data = json.loads(path.with_name(path.name + SUFFIX).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and _expected(data)[0][1] else None


def _expected(sums: dict[str, Any]) -> list[tuple[str, str]]:
    """(algorithm, hex digest) of the last save and of the one before it, as a sum file records them; a digest that
    is not hex text reads as "" (none recorded)."""
    if "blake2b" in sums:
        pairs = [("blake2b", sums["blake2b"]), ("blake2b", sums.get("previous", ""))]
    else:
        pairs = [(sums.get("algorithm", FILE_ALGORITHM), sums.get("digest", "")),
                 (sums.get("previous_algorithm", FILE_ALGORITHM), sums.get("previous", ""))]
    return [(str(algorithm), digest if _is_hex(digest) else "") for algorithm, digest in pairs]


def _is_hex(digest: Any) -> bool:
    return isinstance(digest, str) and bool(digest) and all(c in "0123456789abcdef" for c in digest)


def record(path: Path, digest: str) -> None:
    """Write `digest` (FILE_ALGORITHM's) as the expected digest of `path`, atomically; the digest it
    expected until now is kept as the previous one."""
    before = _expected(_sums(path) or {"digest": ""})[0]
    target = path.with_name(path.name + SUFFIX)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(json.dumps({"algorithm": FILE_ALGORITHM, "digest": digest,
                                   "previous_algorithm": before[0], "previous": before[1]}))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk left an empty vectors.faiss.sum.tmp behind
        raise


def mismatch(path: Path) -> str | None:
    """Why `path` does not match the checksum written with it; None if it does or none was written (older index).

    The file is hashed once per algorithm the sum names (once, nearly always), the last save's digest
    tried first.
    """
    sums = _sums(path)
    if sums is None or not path.is_file():
        return None
    expected = [(algorithm, digest) for algorithm, digest in _expected(sums) if digest]
    found: dict[str, str] = {}
    for algorithm, digest in expected:
        if algorithm in FILE_HASHES:
            if algorithm not in found:
                found[algorithm] = file_digest(path, algorithm)
            if found[algorithm] == digest:
                return None
    unknown = sorted({algorithm for algorithm, _ in expected} - set(FILE_HASHES))
    if unknown and not found:
        return (f"{path.name}{SUFFIX} names a checksum this sensesearch cannot compute ({', '.join(unknown)}), so "
                f"{path.name} cannot be checked: it was written by a newer sensesearch, or the sum file was edited")
    return (f"{path.name} does not match the checksum written with it: its bytes changed after it was saved "
            "(disk damage or an edit)")


def expected_digests(path: Path) -> set[tuple[str, str]]:
    """(algorithm, hex digest) pairs `path`'s sum file accepts now (the last save's and the one before); empty
    when there is no sum file (an older index)."""
    sums = _sums(path)
    return {(algorithm, digest) for algorithm, digest in _expected(sums) if digest} if sums is not None else set()


def loaded_problem(path: Path, digest: str, before: set[tuple[str, str]]) -> str | None:
    """Why the bytes just read from `path` (FILE_ALGORITHM `digest`) are not a save its sum file records; None when
    they are, or when no sum was written. `before`: `expected_digests` read before reading the file, so a save
    that lands meanwhile (new sum, then the rename) is no false alarm."""
    accepted = before | expected_digests(path)
    if not accepted:
        return None
    if (FILE_ALGORITHM, digest) in accepted:
        return None
    if any(algorithm != FILE_ALGORITHM for algorithm, _ in accepted):
        return mismatch(path)  # an older sum (BLAKE2b) or a newer algorithm: hash the file again by its own
    return (f"{path.name} does not match the checksum written with it: its bytes changed after it was saved "
            "(disk damage or an edit)")


def missing(folder: Path, config_file: str, data_file: str) -> str | None:
    """Why `data_file` in `folder` should have a checksum beside it but has none; None when it has one or need not.

    Every writer that puts a checksum into config.json saved the vectors (with their sum) first, so a
    config.json with a checksum beside a vectors file without one means the sum was deleted: the vectors
    may have been changed with it, and must not pass as an older, unchecked index.
    """
    path = folder / data_file
    if not path.is_file() or _sums(path) is not None:
        return None
    try:
        config = json.loads((folder / config_file).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or "checksum" not in config:
        return None
    sum_file = path.with_name(path.name + SUFFIX)
    fault = ("holds no checksum that sensesearch writes (damaged or edited)" if sum_file.exists() else "is missing")
    return (f"{data_file}{SUFFIX} {fault} although {config_file} carries a checksum (sensesearch writes both): "
            f"{data_file} cannot be checked; restore both from a backup, or let `sensesearch verify --repair` "
            "re-encode the vectors from the stored sentences")
