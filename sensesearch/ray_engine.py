"""Distributed encoding on Ray Data: sentences flow through encoder actors and come back in order.

Only `Encoder.encode` runs in the cluster. The driver keeps reading, segmenting, allocating ids and
writing through `Ingestor`, exactly as a local run does, so a Ray build is the local build (same
documents, sentences, occurrences and ids; vectors equal within float tolerance, since batches are
padded differently) and keeps its checkpoint protocol, crash safety and resumption.

The driver cuts its stream of chunks into waves; each wave is one Ray Data pipeline
(`from_items` -> `map_batches` over an actor pool holding the model -> ordered `iter_batches`),
so the driver never holds more than a wave of sentences and results stream back as they finish.
Needs the optional extra: pip install 'sensesearch[ray]'.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from types import ModuleType, TracebackType
from typing import Any, Self

import numpy as np

from .config import EncoderSettings
from .encoder import Encoder, load_encoder
from .errors import ConfigMismatchError, EngineError, SenseSearchError, SetupError, UsageError
from .records import EncodedSentence

log = logging.getLogger(__name__)

WAVE_CHUNKS_PER_WORKER = 32
BATCH_SENTENCES = 256
QUIET_LOGGERS = ("ray", "ray.data")  # silenced by quiet: Ray's loggers, and Ray Data's (own level and handlers)


@dataclass(frozen=True)
class WorkerStats:
    """What one encoder actor did: its sentences and word pieces, and the seconds spent encoding them."""

    worker: str
    sentences: int
    pieces: int
    seconds: float
    cpu_seconds: float

    @property
    def pieces_per_second(self) -> float:
        return self.pieces / self.seconds if self.seconds else 0.0


def _ray() -> ModuleType:
    try:
        import ray
        import ray.data
    except ImportError:
        raise SetupError("--engine ray needs Ray Data: pip install 'sensesearch[ray]'") from None
    return ray


class EncodeActor:
    """A Ray Data worker: loads the model once, then encodes batches of sentences."""

    def __init__(self, make_encoder: Callable[[], Encoder], fingerprint: str) -> None:
        self.encoder = make_encoder()
        if self.encoder.fingerprint != fingerprint:
            raise ConfigMismatchError(f"a Ray worker loaded weights {self.encoder.fingerprint}, the index was built "
                                      f"with {fingerprint}: install the same model on every node")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        started, cpu_started = time.perf_counter(), time.process_time()
        results = self.encoder.encode([str(t) for t in batch["text"]])
        n = max(len(results), 1)
        # Bytes columns travel as Arrow binary; ragged per-sentence arrays would need a tensor extension.
        # Each sentence carries its share of the batch's time, so the driver can sum per worker.
        return {
            "worker": np.full(len(results), f"{os.uname().nodename}:{os.getpid()}", dtype=object),
            "seconds": np.full(len(results), (time.perf_counter() - started) / n),
            "cpu_seconds": np.full(len(results), (time.process_time() - cpu_started) / n),
            "spans": np.array([r.spans.astype(np.int32).tobytes() for r in results], dtype=object),
            "vectors": np.array([np.ascontiguousarray(r.vectors, dtype=np.float32).tobytes() for r in results],
                                dtype=object),
            "pieces": np.array([r.n_pieces for r in results], dtype=np.int64),
        }


class RayChunkEncoder:
    """An `Ingestor` chunk encoder (see ingest.ChunkEncoder) that runs the model on a Ray cluster.

    `make_encoder` builds the model inside each actor; it must be importable there (the default
    loads `settings` like the local engine does). Use as a context manager: a Ray runtime started
    here is shut down on exit, one joined through `address` or already running is left alone.
    """

    def __init__(self, settings: EncoderSettings, fingerprint: str, dim: int, *, address: str | None = None,
                 workers: int | None = None, cpus_per_worker: float | None = None,
                 make_encoder: Callable[[], Encoder] | None = None,
                 wave_chunks: int | None = None, batch_sentences: int = BATCH_SENTENCES, quiet: bool = False) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        self.dim = dim
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.make_encoder = make_encoder
        self.wave_chunks = wave_chunks
        self.batch_sentences = batch_sentences
        self.quiet = quiet
        self._started_ray = False
        self._silenced: list[tuple[logging.Logger | logging.Handler, int | bool]] = []
        self._stats: dict[str, list[float]] = {}

    def __enter__(self) -> Self:
        ray = _ray()
        if self.quiet:
            self._silence_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except BaseException:
                self._restore_ray_logging()
                raise
            self._started_ray = self.address is None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._started_ray:
                _ray().shutdown()
                self._started_ray = False
        finally:
            self._restore_ray_logging()

    def _silence_ray(self) -> None:
        """Quiet: Ray's Python notices (the token-auth notice, Ray Data's progress and INFO lines) stay off stderr.

        Ray's C++ core prints its own ERROR lines (core_worker.cc) to stderr; nothing in Python reaches those.
        """
        ray_logger, data_logger = (logging.getLogger(name) for name in QUIET_LOGGERS)
        # Every "ray.*" logger without a level of its own, whichever handler (Ray's or the root's) would print it.
        self._silenced.append((ray_logger, ray_logger.level))
        ray_logger.setLevel(logging.CRITICAL)
        # Ray Data sets its own level and handlers: its console handler is raised, its log file keeps everything.
        for handler in data_logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                self._silenced.append((handler, handler.level))
                handler.setLevel(logging.CRITICAL)
        if data_logger.propagate:
            self._silenced.append((data_logger, True))
            data_logger.propagate = False

    def _restore_ray_logging(self) -> None:
        while self._silenced:
            target, saved = self._silenced.pop()
            if isinstance(saved, bool):
                target.propagate = saved  # type: ignore[union-attr]
            else:
                target.setLevel(saved)

    def worker_stats(self) -> list[WorkerStats]:
        """Per actor, everything it encoded through this object so far."""
        return [WorkerStats(worker, int(v[0]), int(v[1]), v[2], v[3]) for worker, v in sorted(self._stats.items())]

    def plan(self) -> dict[str, Any]:
        """Actors and resources per actor, from what the cluster offers: one GPU each where it has GPUs."""
        resources = _ray().cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        if gpus:
            workers = min(self.workers or gpus, gpus)
            return {"workers": workers, "num_gpus": 1, "num_cpus": self.cpus_per_worker or 1, "device": "cuda"}
        workers = min(self.workers or cpus, cpus)
        per_worker = self.cpus_per_worker or max(1, cpus // workers)
        return {"workers": workers, "num_gpus": 0, "num_cpus": per_worker, "device": "cpu"}

    def __call__(self, chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        ray = _ray()
        if not ray.is_initialized():
            raise UsageError("RayChunkEncoder must be entered (with ...) before use")
        plan = self.plan()
        log.info("Ray engine: %d workers, %s GPU and %s CPU each", plan["workers"], plan["num_gpus"], plan["num_cpus"])
        make_encoder = self.make_encoder or functools.partial(load_encoder, self.settings, plan["device"])
        wave_chunks = self.wave_chunks or WAVE_CHUNKS_PER_WORKER * plan["workers"]
        context = ray.data.DataContext.get_current()
        saved = (context.execution_options.preserve_order, context.enable_progress_bars,
                 context.print_on_execution_start)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = context.print_on_execution_start = False
        try:
            while wave := [list(c) for c in islice(chunks, wave_chunks)]:
                yield from self._run_wave(ray, wave, plan, make_encoder)
            for stats in self.worker_stats():
                log.info("Ray worker %s: %d sentences, %d word pieces, %.0f pieces/s", stats.worker,
                         stats.sentences, stats.pieces, stats.pieces_per_second)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, SenseSearchError):
                raise type(cause)(str(cause)) from None  # a worker's own kind: a model that fails to load, say
            raise EngineError(f"Ray encoding failed: {str(cause).strip().splitlines()[-1][:300]}") from None
        finally:
            (context.execution_options.preserve_order, context.enable_progress_bars,
             context.print_on_execution_start) = saved

    def _run_wave(self, ray: ModuleType, wave: list[list[str]], plan: dict[str, Any],
                  make_encoder: Callable[[], Encoder]) -> Iterator[list[EncodedSentence]]:
        dataset = ray.data.from_items([{"text": text} for chunk in wave for text in chunk])
        encoded = dataset.map_batches(
            EncodeActor, fn_constructor_args=(make_encoder, self.fingerprint), batch_size=self.batch_sentences,
            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=plan["workers"]),
            num_cpus=plan["num_cpus"], num_gpus=plan["num_gpus"])
        sizes = iter([len(chunk) for chunk in wave])
        wanted = next(sizes)
        ready: list[EncodedSentence] = []
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            for worker, seconds, cpu, pieces in zip(batch["worker"], batch["seconds"], batch["cpu_seconds"],
                                                    batch["pieces"]):
                totals = self._stats.setdefault(str(worker), [0, 0, 0.0, 0.0])
                totals[0] += 1
                totals[1] += int(pieces)
                totals[2] += float(seconds)
                totals[3] += float(cpu)
            for spans, vectors, pieces in zip(batch["spans"], batch["vectors"], batch["pieces"]):
                ready.append(EncodedSentence(
                    spans=np.frombuffer(spans, dtype=np.int32).reshape(-1, 2),
                    vectors=np.frombuffer(vectors, dtype=np.float32).reshape(-1, self.dim),
                    n_pieces=int(pieces)))
                if len(ready) == wanted:
                    yield ready
                    ready = []
                    wanted = next(sizes, 0)
        if wanted or ready:
            raise EngineError("the Ray pipeline returned a different number of sentences than it was given")
