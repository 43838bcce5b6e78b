"""An index folder's generation: which files are loaded, and the Snapshot that takes them together.

A generation is the identity (device, inode) of the metadata store and config.json, which changes when
an index is rebuilt in place, and the stamp (inode, mtime in ns, size) of the vectors file, which changes
with each save. The occurrence store (storage.py) notes the generation it loaded and compares it with
the folder's to know when to reload; caches key on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_FILE, IndexConfig
from .folder import META_FILE
from .store import MetaStore
from .vectors import VECTORS_FILE, VectorStore

Stamp = tuple[int, int, int]
Identity = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Snapshot:
    """One generation of an index: its config, rows and vectors, taken together.

    `generation` changes whenever any of them does (a save by any process, or a rebuild in place);
    it is what caches key on.
    """

    config: IndexConfig
    meta: MetaStore
    vectors: VectorStore
    generation: tuple[Identity, Stamp]


def file_stamp(path: Path) -> Stamp:
    """(inode, mtime in ns, size) of the vectors file in `path`; every atomic save changes it."""
    try:
        st = os.stat(path / VECTORS_FILE)
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def files_identity(path: Path) -> Identity:
    """Which files the metadata store and config.json are (device, inode): new ones mean a rebuilt index."""
    found = []
    for name in (META_FILE, CONFIG_FILE):
        try:
            st = os.stat(path / name)
            found.append((st.st_dev, st.st_ino))
        except FileNotFoundError:
            found.append((0, 0))
    return tuple(found)
