"""Run calls one after another, in the order given, on one background thread: a write session's lane.

A store writer hands its writes (row inserts, document digests, deletes, vectors into FAISS, checkpoints) to a
lane, so that they overlap the caller's work (building the next chunk's rows while the model encodes).
Keeping every write of a session on one thread, in order, keeps each transaction and each saved vectors
file what it would be had the caller made them itself.

The first call that raises stops the lane: later calls are skipped, and the error is raised again in
the caller at its next `submit` or `flush`, so a failure is never lost, only reported a step later.
A caller that gives up (`drop`) skips the calls still waiting, except the last kept one (a checkpoint, which
makes those before it durable too) and the calls before it: what the caller was told is on its way to disk
gets there, unless that takes longer than DROP_GRACE.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

DEPTH = 32
"""Calls waiting at most. A writer's calls hold a chunk's rows or one document's, which its session holds
until the next checkpoint anyway; a depth of 4 made the caller wait for the lane at bursts of documents."""
MAX_BYTES = 512 * 2**20
"""Bytes of arrays (chunks' vectors) the waiting calls hold at most: 32 chunks of 36,000 BERT-large vectors would
be 4.7 GB. 512 MiB is 9 chunks of MiniLM's: room for the lane to save a checkpoint while the caller goes on."""
DROP_GRACE = 5.0
"""Seconds a drop (Ctrl-C) waits for a kept call before giving it up and cancelling the call in hand: long enough
for a checkpoint's save, short enough that a statement waiting on another session's lock does not hold a Ctrl-C."""


class Lane:
    """One background thread running submitted calls in order, at most `depth` of them and `max_bytes` of the
    arrays they hold waiting.

    `depth` 0: no thread; each call runs in `submit`, in the caller, and raises there. `close()` the lane
    when done: its thread ends once the calls before it have run.
    """

    def __init__(self, depth: int = DEPTH, name: str = "sensesearch-lane", max_bytes: int = MAX_BYTES) -> None:
        self._calls: queue.Queue[tuple[Callable[[], object], int, bool] | None] = queue.Queue(maxsize=max(1, depth))
        self._max_bytes = max_bytes
        self._bytes_waiting = 0
        self._kept_waiting = 0
        self._room = threading.Condition()
        self._error: BaseException | None = None
        self._dropping = False
        self._giving_up = False
        self._running = False
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def submit(self, call: Callable[[], object], nbytes: int = 0, kept: bool = False) -> None:
        """Queue `call`, which holds arrays of `nbytes`, after those submitted before it (waiting while `depth` wait or
        their arrays and these would pass `max_bytes`), or run it now without a thread; raises the error of an earlier
        call instead, if one failed. `kept`: a `drop` still runs it, and the calls before it."""
        self._raise()
        if self._thread is None:
            call()
            return
        with self._room:
            # A call holding more than max_bytes still goes, once the lane has nothing else waiting.
            while self._bytes_waiting and self._bytes_waiting + nbytes > self._max_bytes:
                self._room.wait()
            self._bytes_waiting += nbytes
            self._kept_waiting += kept
        try:
            self._calls.put((call, nbytes, kept))
        except BaseException:
            # Interrupted (Ctrl-C) while the queue was full: the call never went in.
            self._let_go(nbytes, kept)
            raise

    def flush(self) -> None:
        """Wait until every submitted call has run; raise the error of the first one that failed."""
        self.wait()
        self._raise()

    def wait(self) -> BaseException | None:
        """Wait until every submitted call has run, or been skipped after a failure; the failure, if any."""
        if self._thread is not None:
            self._calls.join()
        return self._error

    def drop(self, cancel: Callable[[], object] | None = None, grace: float = DROP_GRACE) -> None:
        """Skip the calls still waiting but the last kept one and those before it, which run for at most `grace`
        seconds; then skip them too and `cancel()` the one in hand (a session rolling back: the skipped calls would
        all be undone, and the one in hand may wait on another's lock). Returns once the lane is idle."""
        self._dropping = True
        with self._room:
            kept_made = self._room.wait_for(lambda: not self._kept_waiting, timeout=grace)
        if not kept_made:
            self._giving_up = True
        if self._running and cancel is not None:
            cancel()
        self.wait()

    def close(self) -> None:
        """Let the calls already submitted run, then end the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._calls.put(None)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            try:
                if item is None:
                    return
                if self._error is None and self._runs(item[2]):
                    self._running = True
                    item[0]()
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                self._error = exc
            finally:
                self._running = False
                if item is not None:
                    # Run or skipped, the call's arrays are let go: a caller waiting for room goes on.
                    self._let_go(item[1], item[2])
                self._calls.task_done()

    def _runs(self, kept: bool) -> bool:
        """Whether a call comes to run: always, unless dropping; then only up to the last kept call (counted in
        _kept_waiting, with this one if kept), which alone of the kept ones runs, within the grace."""
        if not self._dropping:
            return True
        return not self._giving_up and (self._kept_waiting == 1 if kept else self._kept_waiting > 0)

    def _let_go(self, nbytes: int, kept: bool) -> None:
        with self._room:
            self._bytes_waiting -= nbytes
            self._kept_waiting -= kept
            self._room.notify_all()
