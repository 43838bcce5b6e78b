"""Run the sensesearch CLI in a child process with the fake encoder, for tests that need a real process.

The in-process fixture cannot reach a child process, so this wrapper registers "fake:" itself, then
runs the normal entry point. Tests steer it through environment variables:
  FAKE_ENCODE_DELAY   seconds to sleep per encode call (a slow writer, for lock and reader tests);
  FAKE_HOLD_UNTIL     a path: every encode call waits until it exists (a writer that holds its lock);
  FAKE_PEAK_FILE      a path: at exit, write this process's peak resident memory in kB (VmHWM; Linux);
  FAKE_FAST           "1": a vectorised fake encoder with cached word vectors, for multi-megabyte inputs;
  FAKE_CHUNK_SENTENCES sentences per encoding chunk (small chunks give many checkpoints on a small corpus);
  FAKE_OFF_HOST       "1": the encoder says it runs off the host CPU, as on a GPU (ingest then encodes on a
                      read-ahead thread while it writes);
  FAKE_IVF_THRESHOLD  vectors past which the index is laid out as IVF (codec.IVF_THRESHOLD), so that a
                      small corpus reaches that layout;
  FAKE_FAULT          "<point>:<n>": SIGKILL this process at the n-th time it reaches <point>, one of
                      before_checkpoint, after_vectors_saved (saved, not yet committed),
                      after_commit (committed, replaced vectors not yet dropped),
                      mid_vectors_write (a half-written temporary vectors file) and
                      before_config (a new index's store made, its config.json not yet written).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sensesearch import codec, config, encoder, ingest, storage_writer, vectors
from sensesearch.records import EncodedSentence
from tests.fake_encoder import FakeEncoder, FastFakeEncoder

FAULT_POINTS = ("before_checkpoint", "after_vectors_saved", "after_commit", "mid_vectors_write", "before_config")


class _SlowFakeEncoder(FakeEncoder):
    def __init__(self, settings: Any, delay: float, hold: Path | None) -> None:
        super().__init__(settings)
        self.delay = delay
        self.hold = hold

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        while self.hold is not None and not self.hold.exists():
            time.sleep(0.02)
        time.sleep(self.delay)
        return super().encode(sentences)


def _make_encoder(settings: Any, _device: str | None) -> FakeEncoder:
    delay = float(os.environ.get("FAKE_ENCODE_DELAY", "0"))
    hold = Path(os.environ["FAKE_HOLD_UNTIL"]) if os.environ.get("FAKE_HOLD_UNTIL") else None
    if os.environ.get("FAKE_FAST") == "1":
        made: FakeEncoder = FastFakeEncoder(settings)
    else:
        made = _SlowFakeEncoder(settings, delay, hold) if delay > 0 or hold else FakeEncoder(settings)
    made.runs_on_host = os.environ.get("FAKE_OFF_HOST") != "1"
    return made


def _install_fault(spec: str) -> None:
    point, _, nth = spec.partition(":")
    if point not in FAULT_POINTS:
        raise SystemExit(f"unknown fault point {point!r}")
    remaining = [int(nth or 1)]

    def reached(name: str) -> None:
        if name == point:
            remaining[0] -= 1
            if remaining[0] == 0:
                os.kill(os.getpid(), signal.SIGKILL)

    original_checkpoint = storage_writer.StoreWriter.checkpoint
    original_enter = storage_writer.StoreWriter.__enter__
    original_commit = storage_writer.StoreWriter._commit
    original_save = vectors.VectorStore.save
    original_config_save = config.IndexConfig.save

    def checkpoint(self: storage_writer.StoreWriter, last: bool = False) -> None:
        reached("before_checkpoint")
        original_checkpoint(self, last)

    def enter(self: storage_writer.StoreWriter) -> storage_writer.StoreWriter:
        # Wrapped for the session: off the caller, a checkpoint's save runs later, on the writer's lane.
        store_save = self.save_vectors

        def save_then_mark() -> None:
            store_save()
            reached("after_vectors_saved")

        self.save_vectors = save_then_mark  # type: ignore[method-assign]
        return original_enter(self)

    def commit(self: storage_writer.StoreWriter) -> None:
        original_commit(self)
        reached("after_commit")

    def save(self: vectors.VectorStore, path: Path) -> None:
        if point == "mid_vectors_write" and remaining[0] == 1:
            tmp = path.with_name(path.name + ".tmp")
            original_save(self, tmp.with_name("half"))
            data = (tmp.with_name("half")).read_bytes()
            tmp.write_bytes(data[: len(data) // 2])
        reached("mid_vectors_write")
        original_save(self, path)

    def config_save(self: config.IndexConfig, folder: Path) -> None:
        reached("before_config")
        original_config_save(self, folder)

    storage_writer.StoreWriter.checkpoint = checkpoint  # type: ignore[method-assign]
    config.IndexConfig.save = config_save  # type: ignore[method-assign]
    storage_writer.StoreWriter.__enter__ = enter  # type: ignore[method-assign]
    storage_writer.StoreWriter._commit = commit  # type: ignore[method-assign]
    vectors.VectorStore.save = save  # type: ignore[method-assign]


def _write_peak(path: Path) -> None:
    """VmHWM counts only this program's memory; ru_maxrss would include the parent's image at fork."""
    status = Path("/proc/self/status").read_text()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    path.write_text(peak)


encoder.ENCODER_FACTORIES["fake"] = _make_encoder
if os.environ.get("FAKE_PEAK_FILE"):
    atexit.register(_write_peak, Path(os.environ["FAKE_PEAK_FILE"]))
if os.environ.get("FAKE_CHUNK_SENTENCES"):
    _original_init = ingest.Ingestor.__init__

    def _small_chunks(self: ingest.Ingestor, *args: Any, **kwargs: Any) -> None:
        kwargs["chunk_sentences"] = int(os.environ["FAKE_CHUNK_SENTENCES"])
        _original_init(self, *args, **kwargs)

    ingest.Ingestor.__init__ = _small_chunks  # type: ignore[method-assign]
if os.environ.get("FAKE_IVF_THRESHOLD"):
    codec.IVF_THRESHOLD = int(os.environ["FAKE_IVF_THRESHOLD"])
if os.environ.get("FAKE_FAULT"):
    _install_fault(os.environ["FAKE_FAULT"])

if __name__ == "__main__":
    from sensesearch.cli import main

    sys.argv[0] = "sensesearch"
    main()
