"""Vector storage: a FAISS index whose ids are occurrence ids, saved atomically to one file.

Small indexes are exhaustive (IndexIDMap2 over flat, SQ or PQ codes). Past `IVF_THRESHOLD`
vectors the store is rebuilt as an inverted-file index with its own ids and a hash-table direct
map (so same-word search can still reconstruct vectors by occurrence id); `choose_index_factory`
is the one place that decides the layout from the size.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorruptError

VECTORS_FILE = "vectors.faiss"
SQ_RANGE_MARGIN = 0.2
PQ_MIN_TRAINING = 1024
PQ_MAX_BYTES = 32
"""32-byte codes + 8-byte ids + ~45 B of metadata keep `pq` under 100 B/occurrence (bench_size.py)."""
IVF_THRESHOLD = 100_000
IVF_TRAINING_PER_LIST = 40
IVF_REBUILD_BATCH = 65_536
CODES = {"flat": "Flat", "fp16": "SQfp16", "sq8": "SQ8"}


def pq_subquantizers(dim: int) -> int:
    """The largest divisor of `dim` that keeps a PQ code at PQ_MAX_BYTES bytes or less."""
    return max(m for m in range(1, min(dim, PQ_MAX_BYTES) + 1) if dim % m == 0)


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: about 4 sqrt(n), as faiss's guidelines suggest."""
    return max(1, int(round(4 * math.sqrt(n))))


def default_nprobe(nlist: int) -> int:
    """Lists visited per query: about 1.5% of them (recall@10 >= 0.9 on clustered data, see bench_query)."""
    return max(8, int(math.ceil(nlist * 0.015)))


def choose_index_factory(n: int, dim: int, compression: str = "sq8") -> str:
    """FAISS factory string for n vectors of `dim`: exhaustive below IVF_THRESHOLD, IVF above."""
    if compression == "pq":
        code = f"PQ{pq_subquantizers(dim)}"
    elif compression in CODES:
        code = CODES[compression]
    else:
        raise ValueError(f"unknown compression {compression!r}")
    return code if n < IVF_THRESHOLD else f"IVF{ivf_lists(n)},{code}"


def _base_index(dim: int, compression: str) -> faiss.Index:
    if compression == "sq8":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        _widen_sq_range(index)
        return index
    if compression == "pq":
        # Built directly: the factory's "PQ" turns on polysemous training, minutes of CPU for no search gain here.
        return faiss.IndexPQ(dim, pq_subquantizers(dim), 8, faiss.METRIC_INNER_PRODUCT)
    return faiss.index_factory(dim, choose_index_factory(0, dim, compression), faiss.METRIC_INNER_PRODUCT)


def _widen_sq_range(index: faiss.Index) -> None:
    # SQ8 is trained on the first batch only: a margin keeps later, slightly wider values from clipping.
    index.sq.rangestat = faiss.ScalarQuantizer.RS_minmax
    index.sq.rangestat_arg = SQ_RANGE_MARGIN


class VectorStore:
    """An IDMap2 over an exhaustive index, or an IVF index with ids; inner product on unit vectors = cosine."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self._sorted_ids: np.ndarray | None = None

    @classmethod
    def create(cls, dim: int, compression: str) -> VectorStore:
        return cls(faiss.IndexIDMap2(_base_index(dim, compression)))

    @classmethod
    def load(cls, path: Path) -> VectorStore:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path} is not a readable FAISS index ({str(exc).splitlines()[0][:120]})") from None
        # read_index already returns the concrete class; a downcast wrapper would not own the index.
        if isinstance(index, faiss.IndexIVF):
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
        return cls(index)

    def save(self, path: Path) -> None:
        """Write to a temporary file, flush it to disk, then rename: a crash leaves the old file or the new one."""
        tmp = path.with_name(path.name + ".tmp")
        if self.ivf is not None:
            # The id -> list offset hash map would add 16 B per vector to the file; load() rebuilds it instead.
            self.ivf.set_direct_map_type(faiss.DirectMap.NoMap)
        try:
            faiss.write_index(self.index, str(tmp))
        finally:
            if self.ivf is not None:
                self.ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def is_trained(self) -> bool:
        return bool(self.index.is_trained)

    @property
    def ivf(self) -> faiss.IndexIVF | None:
        """The index itself when it is an inverted file (ids stored in its lists), else None."""
        return self.index if isinstance(self.index, faiss.IndexIVF) else None

    def describe(self) -> str:
        if self.ivf is not None:
            return f"IVF{self.ivf.nlist},{_code_name(self.ivf)},nprobe={self.ivf.nprobe}"
        return f"IDMap2,{_code_name(faiss.downcast_index(self.index.index))}"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self.index.is_trained:
            if isinstance(faiss.downcast_index(self.index.index), faiss.IndexPQ) and len(vectors) < PQ_MIN_TRAINING:
                raise IndexCorruptError(
                    f"PQ compression needs at least {PQ_MIN_TRAINING} occurrences in the first batch to train on")
            self.index.train(vectors)
        self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        self._sorted_ids = None

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.ivf is not None:
            # The hash-table direct map can only drop ids named one by one.
            ids = ids[self.contains(ids)]
            selector = faiss.IDSelectorArray(ids)
        else:
            selector = faiss.IDSelectorBatch(ids)
        self._sorted_ids = None
        return int(self.index.remove_ids(selector))

    def remove_range(self, first: int, stop: int) -> int:
        if stop <= first:
            return 0
        if self.ivf is not None:
            stored = self.sorted_ids()
            return self.remove(stored[np.searchsorted(stored, first):np.searchsorted(stored, stop)])
        self._sorted_ids = None
        return int(self.index.remove_ids(faiss.IDSelectorRange(first, stop)))

    def ids(self) -> np.ndarray:
        if self.ivf is None:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self.ivf.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(self.ivf.nlist) if lists.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def sorted_ids(self) -> np.ndarray:
        """All stored ids in ascending order, kept until the next add or remove."""
        if self._sorted_ids is None:
            self._sorted_ids = np.sort(self.ids())
        return self._sorted_ids

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `ids` have a stored vector (binary search, not a scan of the index)."""
        stored = self.sorted_ids()
        if len(stored) == 0:
            return np.zeros(len(ids), dtype=bool)
        at = np.minimum(np.searchsorted(stored, ids), len(stored) - 1)
        return stored[at] == ids

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored (decoded) vectors of `ids`; raises IndexCorruptError if an id is missing."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))
        except RuntimeError as exc:
            raise IndexCorruptError(f"vector store lacks some occurrence ids ({str(exc).splitlines()[0][:80]})") from None

    def search(self, query: np.ndarray, k: int, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the k nearest vectors to each query row (ids -1 where fewer exist)."""
        query = np.ascontiguousarray(query, dtype=np.float32)
        if nprobe is not None and self.ivf is not None:
            params = faiss.SearchParametersIVF(nprobe=min(nprobe, self.ivf.nlist))
            return self.index.search(query, k, params=params)
        return self.index.search(query, k)

    def needs_rebuild(self, compression: str) -> bool:
        """True once the size calls for an IVF layout (or for 2x the lists of the current IVF)."""
        wanted = choose_index_factory(self.ntotal, self.dim, compression)
        if not wanted.startswith("IVF"):
            return False
        return self.ivf is None or ivf_lists(self.ntotal) >= 2 * self.ivf.nlist

    def rebuilt(self, compression: str, seed: int = 0) -> VectorStore:
        """A new IVF store holding the same ids, trained on a sample of the (decoded) stored vectors."""
        factory = choose_index_factory(self.ntotal, self.dim, compression)
        index = faiss.index_factory(self.dim, factory, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer) and compression == "sq8":
            _widen_sq_range(ivf)
        if isinstance(ivf, faiss.IndexIVFPQ):
            ivf.do_polysemous_training = False
        ids = self.sorted_ids()
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(ids, size=min(len(ids), IVF_TRAINING_PER_LIST * ivf.nlist), replace=False))
        ivf.cp.niter = 10
        index.train(self.reconstruct(sample))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.nprobe = default_nprobe(ivf.nlist)
        for first in range(0, len(ids), IVF_REBUILD_BATCH):
            batch = ids[first:first + IVF_REBUILD_BATCH]
            index.add_with_ids(self.reconstruct(batch), batch)
        return VectorStore(index)


def _code_name(index: faiss.Index) -> str:
    index = faiss.downcast_index(index)
    if isinstance(index, (faiss.IndexScalarQuantizer, faiss.IndexIVFScalarQuantizer)):
        kinds = {faiss.ScalarQuantizer.QT_8bit: "SQ8", faiss.ScalarQuantizer.QT_fp16: "SQfp16"}
        return kinds.get(index.sq.qtype, "SQ")
    if isinstance(index, faiss.IndexPQ):
        return f"PQ{index.pq.M}"
    if isinstance(index, faiss.IndexIVFPQ):
        return f"PQ{index.pq.M}"
    return type(index).__name__.removeprefix("Index").removeprefix("IVF") or "Flat"
