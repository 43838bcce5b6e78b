"""Vector storage: a FAISS index whose ids are occurrence ids, held in memory and saved to one file (vectorfile.py).

Small indexes are exhaustive (IndexIDMap2 over flat, SQ or PQ codes). Past `IVF_THRESHOLD`
vectors the store is rebuilt as an inverted-file index with its own ids and a hash-table direct
map (so same-word search can still reconstruct vectors by occurrence id); `choose_index_factory`
is the one place that decides the layout from the size. Trained codes follow the life cycle in
codec.py: exact codes until enough vectors exist, then training (on every vector's extremes for SQ8,
on a sample for k-means) and re-encoding. Reading the store back (ids, decoded vectors, search, training
inputs) is storedvectors.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from .codec import (TRAINING_SAMPLE_MAX, choose_index_factory, code_name, codec_problem, compression_of, exhaustive_code,
                    ivf_lists, min_training, retrain_level, sample_ids, trains_on_extremes)
from .ivf import Assign, add_to_lists, build_ivf
from .storedvectors import StoredVectors
from .vectorfile import read_index, write_index

VECTORS_FILE = "vectors.faiss"
CODEC_SAMPLE = 512


class VectorStore(StoredVectors):
    """An IDMap2 over an exhaustive index, or an IVF index with ids; inner product on unit vectors = cosine.

    `compression` is the code the store grows into (config.json's); the code in use may still be
    the exact interim one (see codec.py).
    """

    def __init__(self, index: faiss.Index, compression: str | None = None) -> None:
        super().__init__(index)
        self.compression = compression or compression_of(self.code)
        self.version = 0
        """Counts the changes to the stored vectors, codes and layout (a save of an unchanged store is skipped)."""
        # A loaded trained code counts as trained at its present size: re-trained once the data doubles from here.
        self._trained_size = 0 if self.interim else self.ntotal
        self._deferred = False
        self._code_digest: tuple[int, str] | None = None

    @classmethod
    def create(cls, dim: int, compression: str) -> VectorStore:
        return cls(faiss.IndexIDMap2(exhaustive_code(dim, compression, trained=False)), compression)

    @classmethod
    def load(cls, path: Path, compression: str | None = None, check: bool = False) -> VectorStore:
        """The store saved at `path` (vectorfile.read_index; `check`: against its checksum); raises
        IndexCorruptError if it cannot be read."""
        index = read_index(path, check)
        if not isinstance(index, faiss.IndexIVF) and not index.is_trained and index.ntotal == 0:
            # An empty, untrained code from before the life cycle: start it on exact codes instead.
            return cls.create(index.d, compression or compression_of(faiss.downcast_index(index.index)))
        return cls(index, compression)

    def save(self, path: Path) -> None:
        """Save to `path` durably (vectorfile.write_index), the code first trained if the size calls for it
        (`settle`); raises SenseSearchError on a failure, the old file left as it was."""
        self.settle()
        write_index(self.index, path)

    @contextmanager
    def training_deferred(self) -> Iterator[None]:
        """Within the block, `settle` trains nothing: a save while vectors that are about to go are still held (a
        replaced document's, until its rows' commit) leaves the code to the save after they went."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False

    @property
    def interim(self) -> bool:
        """True while exact codes stand in for a code that is not trained yet."""
        return compression_of(self.code) != self.compression

    def describe(self) -> str:
        if self.ivf is not None:
            return f"IVF{self.ivf.nlist},{code_name(self.ivf)},nprobe={self.ivf.nprobe}"
        wanted = f" (exact until {min_training(self.compression)} vectors, then {self.compression})" if self.interim else ""
        return f"IDMap2,{code_name(self.code)}{wanted}"

    def code_digest(self) -> str:
        """A digest of the trained code's parameters (SQ ranges, PQ centroids, and the IVF centroids where codes are
        residuals): what decoding a stored vector depends on besides its code. `reindex` and `verify --repair` train
        a new code over the same vectors, which `describe` does not tell apart, so caches of decoded vectors (the
        sense tags) are keyed by this too. Kept until the store changes (`version`)."""
        if self._code_digest is None or self._code_digest[0] != self.version:
            digest = hashlib.sha256(self.describe().encode())
            code = self.code
            for name, part in (("sq", "trained"), ("pq", "centroids")):
                quantizer = getattr(code, name, None)
                if quantizer is not None:
                    digest.update(faiss.vector_to_array(getattr(quantizer, part)).tobytes())
            if self.ivf is not None and self.ivf.by_residual:
                centroids = self.ivf.quantizer
                digest.update(centroids.reconstruct_n(0, centroids.ntotal).tobytes())
            self._code_digest = (self.version, digest.hexdigest()[:24])
        return self._code_digest[1]

    def add(self, ids: np.ndarray, vectors: np.ndarray, assign: Assign | None = None) -> None:
        """Add unit vectors under their occurrence ids (the code is trained when saved, see `settle`);
        `assign` chooses an IVF store's lists (see ivf.py)."""
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self._changed()
        if self.ivf is not None:
            add_to_lists(self.ivf, ids, vectors, assign)
            return
        if not self.index.is_trained:
            # Only a store from before the codec life cycle gets here; train it on what it is given.
            self.index.train(vectors)
        self.index.add_with_ids(vectors, ids)

    def settle(self) -> bool:
        """Train the code if the size now calls for it (codec.retrain_level); True if it did.

        Called before every save, so training sees everything a writer holds at a checkpoint,
        not whatever batch happened to come first. A trained exhaustive code past IVF_THRESHOLD is left as it
        is: the IVF layout due at the session's end trains a code of its own, and re-training this one first
        re-encoded every vector for nothing (1.4-1.6 s of a 9 s ingest of both corpora with a stand-in model).
        """
        if self.ivf is not None or self._deferred:
            return False
        level = retrain_level(self.ntotal, self.compression)
        due = level >= 0 if self.interim else level > max(0, retrain_level(self._trained_size, self.compression))
        if due and not self.interim and self.needs_rebuild():
            return False
        if due:
            self.train_codec()
        return due

    def train_codec(self, seed: int | None = None) -> None:
        """Train the exhaustive code on every stored vector's extremes (SQ8) or on a sample of them
        (codec.training_sample), then re-encode them all."""
        if self.ivf is not None:
            self.index = self.rebuilt(self.compression, seed=seed, force=True).index
            self._changed()
            return
        least = min_training(self.compression)
        if least == 0 or (self.interim and self.ntotal < least):
            return
        self._encode_exhaustive(seed)

    def _encode_exhaustive(self, seed: int | None = None) -> None:
        """Every stored vector into a fresh exhaustive code: the trained one once there are enough vectors to train
        it on, the exact interim one before (codec.exhaustive_code)."""
        code = exhaustive_code(self.dim, self.compression, trained=self.ntotal >= min_training(self.compression))
        if not code.is_trained:
            code.train(self.extremes() if trains_on_extremes(self.compression)
                       else self.training_sample(TRAINING_SAMPLE_MAX, seed))
        # Wrapped once trained: IndexIDMap2 copies is_trained when it is made.
        fresh = faiss.IndexIDMap2(code)
        for ids, vectors in self.stored():
            fresh.add_with_ids(vectors, ids)
        self.index = fresh
        self._changed()
        self._trained_size = 0 if self.interim else self.ntotal

    def codec_problem(self, seed: int | None = None) -> str | None:
        """Why the code in use cannot tell usages apart (see codec.codec_problem), judged on a sample; None if sound."""
        ids = sample_ids(self.sorted_ids(), CODEC_SAMPLE, seed)
        return codec_problem(self.code, self.reconstruct(ids))

    def remove(self, ids: np.ndarray) -> int:
        """Remove the vectors of `ids` in one pass over the index; returns how many were stored."""
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.ivf is not None:
            stored = self.sorted_ids()
            copies = np.searchsorted(stored, ids, side="right") - np.searchsorted(stored, ids)
            if bool(np.any(copies > 1)):
                return self._drop_every_copy(ids)
            # The hash-table direct map can only drop ids named one by one.
            selector = faiss.IDSelectorArray(ids[copies > 0])
        else:
            selector = faiss.IDSelectorBatch(ids)
        return self._drop(selector)

    def _drop_every_copy(self, ids: np.ndarray) -> int:
        """Remove every stored copy of `ids` from an IVF store: its hash-table direct map holds one place an id, so
        removing through it left a doubled id's other copy in its list, and `verify --repair` never got rid of it."""
        ivf = self.ivf
        assert ivf is not None
        kind = ivf.direct_map.type
        ivf.set_direct_map_type(faiss.DirectMap.NoMap)
        try:
            return self._drop(faiss.IDSelectorBatch(ids))
        finally:
            ivf.set_direct_map_type(kind)

    def _drop(self, selector: faiss.IDSelector) -> int:
        """The one place vectors leave the index: one pass over it per call."""
        self._changed()
        return int(self.index.remove_ids(selector))

    def remove_ranges(self, ranges: list[tuple[int, int]]) -> int:
        """Remove every id in the half-open [first, stop) ranges, in one pass over the index."""
        ranges = [(first, stop) for first, stop in ranges if stop > first]
        if not ranges:
            return 0
        if len(ranges) == 1 and self.ivf is None:
            return self._drop(faiss.IDSelectorRange(*ranges[0]))
        stored = self.sorted_ids()
        chosen = [stored[np.searchsorted(stored, first):np.searchsorted(stored, stop)] for first, stop in ranges]
        return self.remove(np.concatenate(chosen))

    def remove_range(self, first: int, stop: int) -> int:
        return self.remove_ranges([(first, stop)])

    def _changed(self) -> None:
        self._sorted_ids = None
        self.version += 1

    def needs_rebuild(self, compression: str | None = None) -> bool:
        """True when the size calls for another layout (codec.choose_index_factory): IVF past IVF_THRESHOLD,
        exhaustive below it, and an IVF index whose size calls for 2x more or 2x fewer lists than it has."""
        wanted = choose_index_factory(self.ntotal, self.dim, compression or self.compression)
        if not wanted.startswith("IVF"):
            return self.ivf is not None
        lists = ivf_lists(self.ntotal)
        return self.ivf is None or lists >= 2 * self.ivf.nlist or 2 * lists <= self.ivf.nlist

    def fit_layout(self, assign: Assign | None = None) -> bool:
        """Lay the store out anew, in place, when its size calls for another layout (`needs_rebuild`): as IVF,
        or exhaustive again once removals take it below IVF_THRESHOLD, as a fresh index of the same vectors
        would be. True if it did. `assign` chooses an IVF layout's lists (see ivf.py), FAISS on the CPU by default.
        """
        if not self.needs_rebuild():
            return False
        if choose_index_factory(self.ntotal, self.dim, self.compression).startswith("IVF"):
            self.index = build_ivf(self, self.compression, assign=assign)
            self._changed()
        else:
            self._encode_exhaustive()
        return True

    def rebuilt(self, compression: str | None = None, seed: int | None = None, force: bool = False) -> VectorStore:
        """A new IVF store holding the same ids, trained on a sample of the (decoded) stored vectors (ivf.build_ivf)."""
        compression = compression or self.compression
        return VectorStore(build_ivf(self, compression, seed, force), compression)
