"""The inverted-file (IVF) layout: building one from a store's vectors, and filling its lists.

Filling the lists means finding, for every vector, the list centroid of highest inner product (the
coarse quantizer's search), and that search is nearly all the cost: 493,000 random 384-dimension unit
vectors (both bundled corpora's occurrences, at MiniLM's width) into 2,809 lists took 7.5 s of a 22 s
ingest on 2 cores, of which FAISS encoding and appending the codes took 0.3 s. An `Assign` function
lets the caller run that search where it is cheap, on the encoder's GPU; without one FAISS runs it on
the CPU, which here beat torch on the CPU (6.8 s against 10.9 s). Either way the lists receive the
same codes (FAISS's add_core, via faiss.contrib.ivf_tools).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned

from .codec import (IVF_TRAINING_PER_LIST, KMEANS_MIN_POINTS_PER_CENTROID, TRAINING_SAMPLE_MAX, choose_index_factory,
                    configure, default_nprobe, ivf_lists, min_training, train_ivf)
from .errors import EngineError

if TYPE_CHECKING:
    from .storedvectors import StoredVectors

Assign = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(vectors (n, d) float32, centroids (k, d) float32) -> (n,) integers: for each vector, the row of the
centroid with the highest inner product (ties: any of them)."""

IVF_REBUILD_BATCH = 65_536
"""Vectors decoded from the old store and added to the new one at a time."""


def add_to_lists(ivf: faiss.IndexIVF, ids: np.ndarray, vectors: np.ndarray, assign: Assign | None = None) -> None:
    """Add `vectors` (n, d) float32 under `ids` (n,) int64 to a trained IVF index, their lists chosen by
    `assign` over the index's centroids, or by FAISS's own coarse quantizer when `assign` is None.

    Raises EngineError when `assign` returns anything but one valid list number per vector.
    """
    if len(ids) == 0:
        return
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if assign is None:
        ivf.add_with_ids(vectors, ids)
        return
    found = np.asarray(assign(vectors, ivf.quantizer.reconstruct_n(0, ivf.nlist)))
    if not np.issubdtype(found.dtype, np.integer):
        raise EngineError(f"a list assignment gave {found.dtype} values, not list numbers")
    lists = np.ascontiguousarray(found, dtype=np.int64)
    if lists.shape != ids.shape or int(lists.min()) < 0 or int(lists.max()) >= ivf.nlist:
        raise EngineError(f"a list assignment gave {lists.shape[0]} list numbers in "
                          f"[{lists.min()}, {lists.max()}] for {len(ids)} vectors and {ivf.nlist} lists")
    add_preassigned(ivf, vectors, lists, ids)


def ivf_training_size(nlist: int, compression: str) -> int:
    """Vectors an IVF layout of `nlist` lists trains on: IVF_TRAINING_PER_LIST per list and what the code needs, cut to
    TRAINING_SAMPLE_MAX * 4 only while that still leaves KMEANS_MIN_POINTS_PER_CENTROID per list (under it faiss warns
    and its centroids are poor: the cut alone left 20.7 per list for 10 M vectors, 12,649 lists)."""
    wanted = max(IVF_TRAINING_PER_LIST * nlist, min_training(compression))
    return min(wanted, max(TRAINING_SAMPLE_MAX * 4, KMEANS_MIN_POINTS_PER_CENTROID * nlist))


def build_ivf(source: StoredVectors, compression: str, seed: int | None = None, force: bool = False,
              assign: Assign | None = None) -> faiss.Index:
    """A new IVF index holding `source`'s ids and (decoded) vectors, trained on a sample of them.

    The layout is codec.choose_index_factory's for the size (with `force`, an IVF one even below
    IVF_THRESHOLD). The sample is IVF_TRAINING_PER_LIST vectors per list, and at least what the
    code needs (codec.min_training), never every vector. Lists get a hash-table direct map, so
    vectors can be looked up by occurrence id. Returned is the index the factory made, which owns the IVF
    index inside it.
    """
    factory = choose_index_factory(source.ntotal, source.dim, compression)
    if force and not factory.startswith("IVF"):
        factory = f"IVF{ivf_lists(source.ntotal)},{factory}"
    index = faiss.index_factory(source.dim, factory, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    configure(ivf, compression)
    train_ivf(index, ivf, source.training_sample(ivf_training_size(ivf.nlist, compression), seed))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    ivf.nprobe = default_nprobe(ivf.nlist)
    for ids, vectors in source.stored(IVF_REBUILD_BATCH):
        add_to_lists(ivf, ids, vectors, assign)
    return index
