"""Measure the per-unit figures that docs/scale-out.md projects from (issue 7).

- word pieces/s: local engine on 1 torch thread, Ray engine with 1 and 2 one-CPU workers;
- equality: a Ray build against a local build (counts, max vector difference);
- bytes per occurrence: vectors under each compression, metadata in SQLite and PostgreSQL;
- query cost: same-word and any-word queries, and the FAISS scan cost per stored vector.

Example (about 5 minutes on 2 CPUs):
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/scale_bench.py --files 16 --pg postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch

from sensesearch import SenseIndex
from sensesearch.config import COMPRESSION_CHOICES
from sensesearch.records import EncodedSentence
from sensesearch.vectors import VectorStore

REPO = Path(__file__).resolve().parents[1]


def build(path: Path, files: list[Path], db_url: str | None = None, workers: int | None = None,
          record: list[list[EncodedSentence]] | None = None) -> dict[str, Any]:
    """Index `files` (flat vectors, so they compare exactly) locally, keeping the encodings in `record`,
    or with `workers` Ray actors."""
    timeline: list[tuple[float, int]] = []
    with SenseIndex.create(path, compression="flat", db_url=db_url) as index:
        index.encoder  # noqa: B018  (model load is not ingest time)
        load_before = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        worker_stats: list[dict[str, Any]] = []
        if workers is None:
            def recording(chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
                for texts in chunks:
                    encoded = index.encoder.encode(texts)
                    if record is not None:
                        record.append(encoded)
                    yield encoded

            report = index.add(files, chunk_encoder=recording,
                               progress=lambda d, s, p: timeline.append((time.perf_counter(), p)))
            worker_stats.append({"worker": "this process", "pieces": report.word_pieces,
                                 "seconds": round(time.perf_counter() - started, 2),
                                 "cpu_seconds": round(time.process_time() - cpu_started, 2)})
        else:
            from sensesearch.ray_engine import RayChunkEncoder

            cfg = index.config
            with RayChunkEncoder(cfg.encoder, cfg.model_fingerprint, cfg.dim, workers=workers,
                                 cpus_per_worker=1) as engine:
                report = index.add(files, chunk_encoder=engine,
                                   progress=lambda d, s, p: timeline.append((time.perf_counter(), p)))
            worker_stats = [{"worker": w.worker, "pieces": w.pieces, "seconds": round(w.seconds, 2),
                             "cpu_seconds": round(w.cpu_seconds, 2)} for w in engine.worker_stats()]
        for stats in worker_stats:
            stats["pieces_per_s"] = round(stats["pieces"] / stats["seconds"])
            stats["pieces_per_cpu_s"] = round(stats["pieces"] / stats["cpu_seconds"])
        total = time.perf_counter() - started
        info = index.info()
    return {"engine": "local" if workers is None else f"ray x{workers}", "sentences": report.sentences,
            "occurrences": report.occurrences, "word_pieces": report.word_pieces, "seconds": round(total, 2),
            "pieces_per_s": round(report.word_pieces / total), "workers": worker_stats,
            "chunks": len(timeline), "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2), "bytes_meta": info.bytes_meta,
            "db": "postgresql" if db_url else "sqlite"}


def driver_rate(path: Path, files: list[Path], encodings: list[list[EncodedSentence]],
                db_url: str | None = None) -> dict[str, Any]:
    """Occurrences/s one driver writes (segmenting, numbering, rows, SQ8 vectors, checkpoints) with the model
    taken out: the encodings of an earlier build are replayed."""
    def replay(chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        for _texts, encoded in zip(chunks, encodings):
            yield encoded

    with SenseIndex.create(path, db_url=db_url) as index:
        started = time.perf_counter()
        report = index.add(files, chunk_encoder=replay)
        seconds = time.perf_counter() - started
    return {"db": "postgresql" if db_url else "sqlite", "occurrences": report.occurrences,
            "seconds": round(seconds, 2), "occurrences_per_s": round(report.occurrences / seconds)}


def compare(a_path: Path, b_path: Path) -> dict[str, Any]:
    """Row-for-row comparison of two builds and the largest vector difference."""
    from tests.snapshots import snapshot

    with SenseIndex.open(a_path, read_only=True) as a, SenseIndex.open(b_path, read_only=True) as b:
        sa, sb = snapshot(a), snapshot(b)
    return {"documents": [len(sa.documents), len(sb.documents)], "sentences": [len(sa.sentences), len(sb.sentences)],
            "occurrences": [len(sa.occurrences), len(sb.occurrences)],
            "rows_identical": sa.documents == sb.documents and sa.sentences == sb.sentences
            and sa.occurrences == sb.occurrences and bool(np.array_equal(sa.ids, sb.ids)),
            "max_abs_vector_difference": float(np.abs(sa.vectors - sb.vectors).max()),
            "min_cosine": float((sa.vectors * sb.vectors).sum(1).min())}


def vector_bytes(index_path: Path, workdir: Path) -> dict[str, float]:
    """Bytes per occurrence of the vectors file under each compression, from the same vectors."""
    with SenseIndex.open(index_path, read_only=True) as index:
        ids = np.sort(index.vectors.ids())
        vectors = index.vectors.reconstruct(ids)
    sizes = {}
    for compression in COMPRESSION_CHOICES:
        store = VectorStore.create(vectors.shape[1], compression)
        store.add(ids, vectors)
        target = workdir / f"{compression}.faiss"
        store.save(target)
        sizes[compression] = round(target.stat().st_size / len(ids), 1)
    return sizes


def query_cost(index_path: Path, repeats: int = 10) -> dict[str, float]:
    """Median milliseconds: encoding the query sentence alone, then whole same-word and any-word queries."""
    with SenseIndex.open(index_path, read_only=True) as index:
        text = "The [[people]] of this nation have chosen their government."
        index.query(text, k=10)

        def median_ms(fn: Any) -> float:
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
            return round(1000 * statistics.median(times), 2)

        return {"usages_of_query_word": len(index.usages("people")),
                "occurrences": index.info().occurrences,
                "encode_query_ms": median_ms(lambda: index.encoder.encode([text.replace("[[", "").replace("]]", "")])),
                "same_word_query_ms": median_ms(lambda: index.query(text, k=10)),
                "any_word_query_ms": median_ms(lambda: index.query(text, k=10, any_word=True))}


def scan_cost(n: int = 200_000, dim: int = 384, repeats: int = 10) -> dict[str, float]:
    """Nanoseconds per stored vector for one exhaustive query (1 thread), flat and SQ8."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    query = data[:1].copy()
    faiss.omp_set_num_threads(1)
    out = {}
    for name, index in (("flat", faiss.IndexFlatIP(dim)),
                        ("sq8", faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit,
                                                           faiss.METRIC_INNER_PRODUCT))):
        index.train(data)
        index.add(data)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            index.search(query, 10)
            times.append(time.perf_counter() - started)
        out[f"{name}_ns_per_vector"] = round(1e9 * statistics.median(times) / n, 3)
    return out


def drop_schema(index_path: Path) -> None:
    """Remove the PostgreSQL schema a benchmark index left on the server."""
    from sqlalchemy import create_engine, text

    from sensesearch.config import IndexConfig
    from sensesearch.dburl import engine_url, schema_of

    url = IndexConfig.load(index_path).db_url or ""
    engine = create_engine(engine_url(url))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_of(url)}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpora" / "inaugural")
    parser.add_argument("--files", type=int, default=16, help="how many of the corpus files (sorted by name)")
    parser.add_argument("--pg", help="PostgreSQL URL for the metadata of the 2-worker Ray build")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = sorted(args.corpus.glob("*.txt"))[-args.files:]
    workdir = Path(tempfile.mkdtemp(prefix="sensesearch-bench-"))
    results: dict[str, Any] = {"files": [f.name for f in files], "cpus": os.cpu_count()}
    try:
        import ray

        encodings: list[list[EncodedSentence]] = []
        results["local_1_thread"] = build(workdir / "local", files, record=encodings)
        results["driver_only"] = [driver_rate(workdir / "replay-sqlite", files, encodings)]
        if args.pg:
            results["driver_only"].append(driver_rate(workdir / "replay-pg", files, encodings, args.pg))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            results["ray_1_worker"] = build(workdir / "ray1", files, workers=1)
            results["ray_2_workers"] = build(workdir / "ray2", files, db_url=args.pg, workers=2)
        finally:
            ray.shutdown()
        results["equality_ray2_vs_local"] = compare(workdir / "ray2", workdir / "local")
        results["vector_bytes_per_occurrence"] = vector_bytes(workdir / "local", workdir)
        occurrences = results["local_1_thread"]["occurrences"]
        results["meta_bytes_per_occurrence"] = {
            "sqlite": round(results["local_1_thread"]["bytes_meta"] / occurrences, 1),
            results["ray_2_workers"]["db"]: round(results["ray_2_workers"]["bytes_meta"] / occurrences, 1)}
        results["query"] = query_cost(workdir / "local")
        results["scan"] = scan_cost()
    finally:
        for name in ("ray2", "replay-pg"):
            if args.pg and (workdir / name / "config.json").exists():
                drop_schema(workdir / name)
        shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
