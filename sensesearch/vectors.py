"""Vector storage: a FAISS index whose ids are occurrence ids, saved atomically to one file."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexCorruptError

VECTORS_FILE = "vectors.faiss"
SQ_RANGE_MARGIN = 0.2
PQ_MIN_TRAINING = 1024


def _base_index(dim: int, compression: str) -> faiss.Index:
    if compression == "flat":
        return faiss.IndexFlatIP(dim)
    if compression == "fp16":
        return faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    if compression == "sq8":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.sq.rangestat = faiss.ScalarQuantizer.RS_minmax
        index.sq.rangestat_arg = SQ_RANGE_MARGIN
        return index
    if compression == "pq":
        return faiss.IndexPQ(dim, pq_subquantizers(dim), 8, faiss.METRIC_INNER_PRODUCT)
    raise ValueError(f"unknown compression {compression!r}")


def pq_subquantizers(dim: int) -> int:
    """The largest divisor of `dim` that keeps a PQ code at 64 bytes or less."""
    return max(m for m in range(1, min(dim, 64) + 1) if dim % m == 0)


class VectorStore:
    """FAISS IndexIDMap2 over a flat, scalar-quantised or PQ index; inner product on unit vectors = cosine."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @classmethod
    def create(cls, dim: int, compression: str) -> VectorStore:
        return cls(faiss.IndexIDMap2(_base_index(dim, compression)))

    @classmethod
    def load(cls, path: Path) -> VectorStore:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path} is not a readable FAISS index ({str(exc).splitlines()[0][:120]})") from None
        if not isinstance(index, faiss.IndexIDMap2):
            index = faiss.downcast_index(index)
        return cls(index)

    def save(self, path: Path) -> None:
        """Write to a temporary file, flush it to disk, then rename: a crash leaves the old file or the new one."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
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

    def describe(self) -> str:
        base = faiss.downcast_index(self.index.index)
        name = type(base).__name__
        if isinstance(base, faiss.IndexScalarQuantizer):
            kinds = {faiss.ScalarQuantizer.QT_8bit: "SQ8", faiss.ScalarQuantizer.QT_fp16: "SQfp16"}
            return f"IDMap2,{kinds.get(base.sq.qtype, 'SQ')}"
        if isinstance(base, faiss.IndexPQ):
            return f"IDMap2,PQ{base.pq.M}"
        if isinstance(base, faiss.IndexIVF):
            return f"IDMap2,IVF{base.nlist},{type(faiss.downcast_index(base.quantizer)).__name__}"
        return f"IDMap2,{name.removeprefix('Index')}"

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

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self.index.remove_ids(selector))

    def remove_range(self, first: int, stop: int) -> int:
        if stop <= first:
            return 0
        return int(self.index.remove_ids(faiss.IDSelectorRange(first, stop)))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

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
        base = faiss.downcast_index(self.index.index)
        if nprobe is not None and isinstance(base, faiss.IndexIVF):
            base.nprobe = nprobe
        scores, ids = self.index.search(np.ascontiguousarray(query, dtype=np.float32), k)
        return scores, ids
