"""The codec life cycle: which FAISS code a store uses at each size, how it is trained, how to tell it is sound.

Trained codes (SQ8 ranges, PQ codebooks, IVF centroids) are only as good as their training sample.
A store therefore keeps exact codes (fp16) until it holds enough vectors to train on, as FAISS's
own guidance sizes them, then trains and re-encodes: SQ8 on every vector's per-dimension extremes,
k-means (PQ codebooks, IVF centroids) on a sample of everything held, chosen by content. It
re-trains whenever the data has grown RETRAIN_GROWTH times past the last training. Training
happens at checkpoints (before a save), on what is held then. The answers then
do not depend on the order in which files were indexed. Sources: faiss wiki "Guidelines to choose an
index" (30-256 training points per IVF list) and faiss's k-means, which warns under 39 points per
centroid; a PQ sub-quantizer has 256 centroids.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import faiss
import numpy as np

SQ_RANGE_MARGIN = 0.2
SQ8_MIN_TRAINING = 4096
"""Per-dimension min/max ranges need thousands of vectors to see each dimension's real spread."""
KMEANS_MIN_POINTS_PER_CENTROID = 39
PQ_CENTROIDS = 256
PQ_MIN_TRAINING = KMEANS_MIN_POINTS_PER_CENTROID * PQ_CENTROIDS
PQ_MAX_BYTES = 32
"""32-byte codes + 8-byte ids + ~45 B of metadata keep `pq` under 100 B/occurrence (bench_size.py)."""
TRAINING_SAMPLE_MAX = 65_536
RETRAIN_GROWTH = 2
TRAINING_SEED = 0
FP16_MANTISSA_MASK = 0xFFFFE000
"""float32 sign, exponent and the top 10 of 23 mantissa bits."""
KEY_THREADS = 4
"""Threads hashing rows for a training sample (keyed_ids): each holds one decoded batch and its temporaries."""
IVF_THRESHOLD = 100_000
IVF_TRAINING_PER_LIST = 40
TWO_LEVEL_MIN_LISTS = 256
IVF_KMEANS_ITERATIONS = 10
"""As faiss's IVF training runs its k-means (its Level1Quantizer sets ClusteringParameters.niter to 10)."""
CODES = {"flat": "Flat", "fp16": "SQfp16", "sq8": "SQ8"}
INTERIM_CODE = "SQfp16"
CLIPPED_SHARE_LIMIT = 0.02
"""Above this share of SQ8 values at the ends of their range, the ranges were trained on unrepresentative data."""


def pq_subquantizers(dim: int) -> int:
    """The largest divisor of `dim` that keeps a PQ code at PQ_MAX_BYTES bytes or less."""
    return max(m for m in range(1, min(dim, PQ_MAX_BYTES) + 1) if dim % m == 0)


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: about 4 sqrt(n), as faiss's guidelines suggest."""
    return max(1, int(round(4 * math.sqrt(n))))


def default_nprobe(nlist: int) -> int:
    """Lists visited per query: about 1.5% of them (recall@10 >= 0.9 on clustered data, see bench_query)."""
    return max(8, int(math.ceil(nlist * 0.015)))


def min_training(compression: str) -> int:
    """Vectors a code needs before it may be trained (0: it needs no training)."""
    return {"sq8": SQ8_MIN_TRAINING, "pq": PQ_MIN_TRAINING}.get(compression, 0)


def code_string(dim: int, compression: str) -> str:
    """The FAISS factory name of the trained code for `compression` (ValueError if unknown)."""
    if compression == "pq":
        return f"PQ{pq_subquantizers(dim)}"
    if compression in CODES:
        return CODES[compression]
    raise ValueError(f"unknown compression {compression!r}")


def choose_index_factory(n: int, dim: int, compression: str = "sq8") -> str:
    """FAISS factory string for n vectors of `dim`: exhaustive below IVF_THRESHOLD, IVF above."""
    code = code_string(dim, compression)
    return code if n < IVF_THRESHOLD else f"IVF{ivf_lists(n)},{code}"


def retrain_level(n: int, compression: str) -> int:
    """Which training generation n vectors call for: -1 below the minimum, then +1 per RETRAIN_GROWTH-fold growth.

    PQ stays at generation 0: its codebooks could only be re-trained on their own lossy decodings,
    which adds error instead of removing it (the IVF rebuild re-trains it, from the same decodings, once).
    """
    least = min_training(compression)
    if least == 0 or n < least:
        return -1
    if compression == "pq":
        return 0
    return int(math.floor(math.log(n / least, RETRAIN_GROWTH) + 1e-9))


def sample_ids(ids: np.ndarray, size: int, seed: int | None = None) -> np.ndarray:
    """A uniform random sample of `size` of the sorted `ids`, itself sorted (all of them when fewer)."""
    if len(ids) <= size:
        return ids
    rng = np.random.default_rng(TRAINING_SEED if seed is None else seed)
    return np.sort(rng.choice(ids, size=size, replace=False))


def content_keys(vectors: np.ndarray, seed: int | None = None) -> np.ndarray:
    """A 64-bit hash of each row's value (cut to fp16's 10 mantissa bits), independent of ids and insertion order.

    Taking the rows with the smallest keys gives a uniform random sample that is the same for the
    same set of vectors whatever order they came in; training on them in key order makes the trained
    code (k-means seeds included) a function of the data alone. The cut mantissa makes float noise
    from different batching hash alike; it is a bit mask (twice as fast as converting to fp16), and
    two values are mixed per 64-bit word.
    """
    cut = np.ascontiguousarray(vectors, dtype=np.float32).view(np.uint32) & np.uint32(FP16_MANTISSA_MASK)
    if cut.shape[1] % 2:
        cut = np.pad(cut, ((0, 0), (0, 1)))
    words = cut.view(np.uint64)
    weights = np.random.default_rng(TRAINING_SEED if seed is None else seed).integers(
        1, 2**63, size=words.shape[1], dtype=np.uint64) | np.uint64(1)
    # In place on the masked copy: fresh temporaries of this size are page-faulted in on every call (524,288 rows of
    # 384 dimensions: 0.63-0.66 s against 0.97-0.98 s with a new array per step, the same keys).
    with np.errstate(over="ignore"):
        np.multiply(words, weights, out=words)
        words ^= words >> np.uint64(29)
        return words.sum(axis=1, dtype=np.uint64)


def keyed_ids(batches: Iterable[tuple[np.ndarray, np.ndarray]], seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64 (n,), content_keys uint64 (n,)) of every row of `batches`, (ids (b,), vectors (b, d)) pairs.

    The keys are computed on up to KEY_THREADS threads while the caller's iterator decodes the next batch
    (numpy lets go of the GIL in the arithmetic), at most one batch per thread waiting. The keys of 493,129
    vectors of 384 dimensions took 0.18-0.21 s on 2 cores against 0.37-0.43 s one batch after another; a
    training sample of 100,000 from an SQ8 store of them 0.47-0.67 s against 0.58-0.83 s (2 runs of 5
    alternated; the rest is decoding and looking up the sample).
    """
    workers = max(1, min(KEY_THREADS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                         else os.cpu_count() or 1))
    ids, keys = [np.zeros(0, np.int64)], [np.zeros(0, np.uint64)]
    pending: deque[tuple[np.ndarray, Future[np.ndarray]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sensesearch-keys") as pool:
        for chunk, vectors in batches:
            pending.append((chunk, pool.submit(content_keys, vectors, seed)))
            if len(pending) > workers:
                done, future = pending.popleft()
                ids.append(done)
                keys.append(future.result())
        for done, future in pending:
            ids.append(done)
            keys.append(future.result())
    return np.concatenate(ids), np.concatenate(keys)


def trains_on_extremes(compression: str) -> bool:
    """Whether the trained code depends only on each dimension's min and max over its training data.

    SQ8's ranges do (RS_minmax, set by `configure`): trained on two rows holding those extremes, it
    comes out exactly as trained on every row, whatever their order, with no sample to draw.
    """
    return compression == "sq8"


def train_ivf(index: faiss.Index, ivf: faiss.IndexIVF, sample: np.ndarray) -> None:
    """Train an IVF index: coarse centroids by two-level k-means once there are TWO_LEVEL_MIN_LISTS lists, then its code.

    All k-means runs IVF_KMEANS_ITERATIONS iterations, as faiss's own IVF training does; spherical
    for inner product, with the index's seed.
    """
    ivf.cp.niter = IVF_KMEANS_ITERATIONS
    if ivf.nlist >= TWO_LEVEL_MIN_LISTS and not ivf.quantizer.ntotal and len(sample) >= ivf.nlist:
        ivf.quantizer.add(two_level_kmeans(sample, ivf.nlist, spherical=ivf.cp.spherical, seed=ivf.cp.seed))
    index.train(sample)


def two_level_kmeans(sample: np.ndarray, k: int, spherical: bool, seed: int) -> np.ndarray:
    """(k, dim) float32 centroids of `sample` (n >= k rows): sqrt(k) coarse clusters, each split by its own k-means.

    The method of faiss.contrib.clustering.two_level_clustering: each coarse cluster gets a share of
    the k centroids in proportion to its size (rounded down cumulatively: the shares add up to k, and
    a cluster smaller than n/k may get none; its points then go to their nearest other centroid).
    That helper runs its second level at a fixed 25 iterations; here both levels run
    IVF_KMEANS_ITERATIONS, and the coarse level samples faiss's default 256 points per centroid.
    On 100,000 MiniLM vectors into 1,265 lists it took 0.55 s, against 1.0 s at 25 iterations and
    1.1-1.9 s through faiss.contrib's helper; recall@10 at the default nprobe was 0.966-0.970 for all
    of them. A function of the sample's content and order alone.
    """
    dim = sample.shape[1]
    coarse = faiss.Kmeans(dim, math.isqrt(k), niter=IVF_KMEANS_ITERATIONS, spherical=spherical, seed=seed)
    coarse.train(sample)
    groups = coarse.index.search(sample, 1)[1].ravel()
    sizes = np.bincount(groups, minlength=coarse.k)
    # Shares by the rounded-down cumulative sizes: they sum to k, and none exceeds its group's size when n >= k.
    shares = np.diff(np.concatenate([[0], np.cumsum(sizes)]) * k // len(sample))
    centroids = []
    for group in np.flatnonzero(shares):
        fine = faiss.Kmeans(dim, int(shares[group]), niter=IVF_KMEANS_ITERATIONS, spherical=spherical, seed=seed,
                            min_points_per_centroid=1)
        fine.train(np.ascontiguousarray(sample[groups == group]))
        centroids.append(fine.centroids)
    return np.ascontiguousarray(np.concatenate(centroids), dtype=np.float32)


def exhaustive_code(dim: int, compression: str, trained: bool) -> faiss.Index:
    """The flat code behind an IDMap2: the trained code, or exact fp16 codes while training must wait."""
    if compression in ("sq8", "pq") and not trained:
        return faiss.index_factory(dim, INTERIM_CODE, faiss.METRIC_INNER_PRODUCT)
    if compression == "sq8":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        configure(index, compression)
        return index
    if compression == "pq":
        index = faiss.IndexPQ(dim, pq_subquantizers(dim), 8, faiss.METRIC_INNER_PRODUCT)
        configure(index, compression)
        return index
    return faiss.index_factory(dim, code_string(dim, compression), faiss.METRIC_INNER_PRODUCT)


def configure(index: faiss.Index, compression: str) -> None:
    """Settings FAISS's factory leaves wrong for us, on any SQ or PQ index (flat or IVF), then asserted.

    SQ8: min/max ranges widened by SQ_RANGE_MARGIN, so vectors a little outside the sample do not
    clip; in an IVF index, codes of the vectors themselves rather than of their residuals to the
    list centroids, so training the code needs no pass assigning the sample to lists (0.4 s of a
    3 s rebuild at 100,000 MiniLM vectors, for recall@10 0.966 against 0.968 at the default nprobe).
    fp16: in an IVF index, codes of the vectors too: residual codes decode through the list centroids, so builds with
    other lists (579 against 979 for the same 59,960 vectors) held vectors up to 1.9e-4 apart in scores.
    PQ: no polysemous training (minutes of CPU for no gain in the searches made here).
    """
    index = faiss.downcast_index(index)
    if compression == "sq8" and hasattr(index, "sq"):
        index.sq.rangestat = faiss.ScalarQuantizer.RS_minmax
        index.sq.rangestat_arg = SQ_RANGE_MARGIN
        assert index.sq.rangestat == faiss.ScalarQuantizer.RS_minmax and abs(index.sq.rangestat_arg - SQ_RANGE_MARGIN) < 1e-6
    if compression in ("sq8", "fp16") and hasattr(index, "sq") and isinstance(index, faiss.IndexIVF):
        index.by_residual = False
        assert not index.by_residual
    if compression == "pq" and hasattr(index, "do_polysemous_training"):
        index.do_polysemous_training = False
        assert not index.do_polysemous_training


def code_name(index: faiss.Index) -> str:
    """The code of a flat or IVF index as a factory name (SQ8, SQfp16, PQ32, Flat)."""
    index = faiss.downcast_index(index)
    if isinstance(index, (faiss.IndexScalarQuantizer, faiss.IndexIVFScalarQuantizer)):
        kinds = {faiss.ScalarQuantizer.QT_8bit: "SQ8", faiss.ScalarQuantizer.QT_fp16: "SQfp16"}
        return kinds.get(index.sq.qtype, "SQ")
    if isinstance(index, (faiss.IndexPQ, faiss.IndexIVFPQ)):
        return f"PQ{index.pq.M}"
    if isinstance(index, (faiss.IndexFlat, faiss.IndexIVFFlat)):
        # One name for one code: the factory makes IndexFlatIP, a layout laid out anew an IndexFlat of the same
        # metric, and `info` said FlatIP of a fresh index and Flat of one shrunk below the IVF threshold.
        return "Flat"
    return type(index).__name__.removeprefix("Index").removeprefix("IVF") or "Flat"


def compression_of(index: faiss.Index) -> str:
    """The compression name of a code (an interim fp16 code reads as fp16)."""
    name = code_name(index)
    return {"SQ8": "sq8", "SQfp16": "fp16", "Flat": "flat"}.get(name, "pq" if name.startswith("PQ") else "flat")


def codec_problem(code: faiss.Index, decoded: np.ndarray) -> str | None:
    """Why a trained code cannot tell usages apart, judged on `decoded` (a sample of its stored vectors); None if sound.

    SQ8: empty per-dimension ranges (trained on one vector) or many values pinned to the ends of
    their ranges (trained on too few). PQ: sub-quantizers that give almost every vector one code.
    Exact codes (flat, fp16) have nothing to check. Repeated sentences are no fault, so no test
    counts distinct vectors.
    """
    code = faiss.downcast_index(code)
    n = len(decoded)
    if n < 2:
        return None
    sq = getattr(code, "sq", None)
    if sq is not None and sq.qtype == faiss.ScalarQuantizer.QT_8bit and sq.rangestat == faiss.ScalarQuantizer.RS_minmax:
        trained = faiss.vector_to_array(sq.trained)
        dim = code.d
        low, width = trained[:dim], trained[dim:2 * dim]
        empty = int((width <= 1e-7).sum())
        if empty:
            return (f"the SQ8 codec has empty value ranges in {empty} of {dim} dimensions "
                    "(trained on too few vectors), so it cannot tell usages apart")
        step = width / 255
        pinned = (np.abs(decoded - (low + 0.5 * step)) < step / 4) | (np.abs(decoded - (low + width - 0.5 * step)) < step / 4)
        share = float(pinned.mean())
        if share > CLIPPED_SHARE_LIMIT:
            return (f"{share:.0%} of SQ8-coded values sit at the ends of the codec's ranges "
                    "(trained on too few or unrepresentative vectors), so scores are distorted")
    pq = getattr(code, "pq", None)
    if pq is not None and n >= 64 and not getattr(code, "by_residual", False):
        codes = pq.compute_codes(np.ascontiguousarray(decoded, dtype=np.float32))
        used = np.median([len(np.unique(codes[:, m])) for m in range(codes.shape[1])])
        if used <= 2:
            return f"the PQ codec's sub-quantizers give {n} sampled usages only about {used:.0f} codes each"
    return None
