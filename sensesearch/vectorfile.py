"""The vectors file: one FAISS index read from disk, or written to it durably with its checksum recorded.

Kept apart from vectors.py, which holds the index in memory and decides its layout and codes; this module
knows only the file: how FAISS reads and writes it, what goes wrong there, and what is left out of it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import faiss

from . import checksums
from .durable import replace_durably
from .errors import IndexCorruptError

log = logging.getLogger(__name__)


def read_index(path: Path, check: bool = False) -> faiss.Index:
    """The FAISS index saved at `path`, as its concrete class; an IVF index gets its id -> list hash map back.

    `check`: the bytes are hashed as FAISS reads them (SHA-256: 0.03 s for a 37 MB SQ8 file, 0.08 s for 147 MB)
    and must be a save the checksum file records, so damaged bytes are never served (checksums.loaded_problem).
    Raises IndexCorruptError (one line naming `path`) when the file cannot be read, is not a FAISS index or,
    checked, does not match its checksum.
    """
    before = checksums.expected_digests(path) if check else set()
    digest = checksums.FILE_HASHES[checksums.FILE_ALGORITHM]()

    def read(size: int) -> bytes:
        data = handle.read(size)
        digest.update(data)
        return data

    try:
        with open(path, "rb") as handle:
            index = faiss.read_index(faiss.PyCallbackIOReader(read if check else handle.read))
            if check:
                digest.update(handle.read())  # bytes past what FAISS read are part of the file too
    except OSError as exc:
        raise IndexCorruptError(f"{path} cannot be read ({exc.strerror or exc})") from None
    except RuntimeError as exc:
        # FAISS's own text names its C++ functions and source lines: for the log, not for the user.
        log.debug("faiss.read_index(%s): %s", path, exc)
        raise IndexCorruptError(f"{path} is not a readable FAISS index (damaged or cut short); `sensesearch verify "
                                f"--index {path.parent} --repair` makes it again from the stored sentences") from None
    problem = checksums.loaded_problem(path, digest.hexdigest(), before) if check else None
    if problem:
        raise IndexCorruptError(f"{problem}; run `sensesearch verify --index {path.parent}` for details")
    if isinstance(index, faiss.IndexIVF):
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
    return index


def write_index(index: faiss.Index, path: Path) -> None:
    """Save `index` to `path` durably, its checksum recorded before the rename (durable.replace_durably): a crash
    leaves the old file or the new one; on a failure (a full disk) the old file stays, SenseSearchError."""
    digests: list[str] = []

    def write(tmp: Path) -> None:
        digests.append(_write(index, tmp))

    def before_rename(tmp: Path) -> None:
        checksums.record(path, digests[0])

    ivf = index if isinstance(index, faiss.IndexIVF) else None
    if ivf is not None:
        # The id -> list offset hash map would add 16 B per vector to the file; read_index rebuilds it instead.
        ivf.set_direct_map_type(faiss.DirectMap.NoMap)
    try:
        replace_durably(path, write, "vectors file",
                        "; free disk space or make the folder writable, then run it again", before_rename)
    finally:
        if ivf is not None:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)


def _write(index: faiss.Index, path: Path) -> str:
    """Write `index` to `path`; its checksum (checksums.FILE_ALGORITHM), hashed as the bytes go out."""
    # Through a Python file, not a file name: FAISS takes names as UTF-8 text only, and a folder's name
    # may hold any bytes (Python hands them over as lone surrogates, PEP 383). As fast, byte for byte the same.
    with open(path, "wb") as handle, checksums.HashingWriter(handle) as out:
        faiss.write_index(index, faiss.PyCallbackIOWriter(out.write))
        return out.hexdigest()
