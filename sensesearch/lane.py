"""Run calls one after another, in the order given, on one background thread: a write session's lane.

A store writer hands its writes (row inserts, document digests, deletes, vectors into FAISS, checkpoints) to a
lane, so that they overlap the caller's work (building the next chunk's rows while the model encodes).
Keeping every write of a session on one thread, in order, keeps each transaction and each saved vectors
file what it would be had the caller made them itself.

The first call that raises stops the lane: later calls are skipped, and the error is raised again in
the caller at its next `submit` or `flush`, so a failure is never lost, only reported a step later.
A caller that gives up (`drop`) skips the calls still waiting, except the last kept one (a checkpoint, which
makes those before it durable too) and the calls before it: what the caller was told is on its way to disk
gets there, unless that takes longer than DROP_GRACE or the caller is interrupted again.

Every count (calls, bytes, kept calls waiting) is read off the waiting calls themselves, under one lock, so a
Ctrl-C landing anywhere in `submit` leaves no count behind that would stall or mislead the lane later.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

DEPTH = 32
"""Calls waiting at most. A writer's calls hold a chunk's rows or one document's, which its session holds
until the next checkpoint anyway; a depth of 4 made the caller wait for the lane at bursts of documents."""
MAX_BYTES = 512 * 2**20
"""Bytes of arrays (chunks' vectors) the waiting calls hold at most: 32 chunks of 36,000 BERT-large vectors would
be 4.7 GB. 512 MiB is 9 chunks of MiniLM's: room for the lane to save a checkpoint while the caller goes on."""
DROP_GRACE = 5.0
"""Seconds a drop (Ctrl-C) waits for a kept call before giving it up and cancelling the call in hand: long enough
for a checkpoint's save, short enough that a statement waiting on another session's lock does not hold a Ctrl-C."""


@dataclass(frozen=True)
class _Call:
    """A submitted call, the bytes of the arrays it holds, and whether a drop still makes it (a checkpoint)."""

    run: Callable[[], object]
    nbytes: int
    kept: bool


class Lane:
    """One background thread running submitted calls in order, at most `depth` of them and `max_bytes` of the
    arrays they hold waiting.

    `depth` 0: no thread; each call runs in `submit`, in the caller, and raises there. `close()` the lane
    when done: its thread ends once the calls before it have run.
    """

    def __init__(self, depth: int = DEPTH, name: str = "sensesearch-lane", max_bytes: int = MAX_BYTES) -> None:
        self._waiting: deque[_Call] = deque()
        self._in_hand: _Call | None = None
        self._depth = max(1, depth)
        self._max_bytes = max_bytes
        self._lock = threading.Condition()
        self._error: BaseException | None = None
        self._dropping = self._giving_up = self._closing = False
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def submit(self, call: Callable[[], object], nbytes: int = 0, kept: bool = False) -> None:
        """Queue `call`, which holds arrays of `nbytes`, after those submitted before it (waiting while `depth` wait or
        their arrays and these would pass `max_bytes`), or run it now without a thread; raises the error of an earlier
        call instead, if one failed. `kept`: a `drop` still runs it, and the calls before it, if it is the last."""
        self._raise()
        if self._thread is None:
            call()
            return
        with self._lock:
            # A call holding more than max_bytes still goes, once the lane has nothing else waiting.
            self._lock.wait_for(lambda: self._error is not None or (
                len(self._waiting) < self._depth and not (self._waiting and self._bytes() + nbytes > self._max_bytes)))
            self._raise()
            self._waiting.append(_Call(call, nbytes, kept))
            self._lock.notify_all()

    def flush(self) -> None:
        """Wait until every submitted call has run; raise the error of the first one that failed."""
        self.wait()
        self._raise()

    def wait(self) -> BaseException | None:
        """Wait until every submitted call has run, or been skipped after a failure; the failure, if any."""
        with self._lock:
            self._lock.wait_for(lambda: not self._waiting and self._in_hand is None)
        return self._error

    def drop(self, cancel: Callable[[], object] | None = None, grace: float = DROP_GRACE) -> BaseException | None:
        """Skip the calls still waiting but the last kept one and those before it, which run for at most `grace`
        seconds (or until a second KeyboardInterrupt); then skip them too and `cancel()` the one in hand (a session
        rolling back: the skipped calls would all be undone, and the one in hand may wait on another's lock).

        Returns once the lane is idle: why a kept call waiting at the drop was not made (its error, or a
        TimeoutError), None if it was made or there was none.
        """
        with self._lock:
            self._dropping = True
            kept_given = self._kept_pending()
        gave_up = f"given up {grace:g} s after stopping"
        try:
            with self._lock:
                kept_made = self._lock.wait_for(lambda: not self._kept_pending(), timeout=grace)
        except KeyboardInterrupt:
            kept_made, gave_up = False, "given up at a second interrupt"
        with self._lock:
            if not kept_made:
                self._giving_up = True
            # A kept call made leaves nothing running after it; anything else in hand is what holds the stop.
            cancelling = self._in_hand is not None and not (kept_given and kept_made)
        if cancelling and cancel is not None:
            cancel()
        failure = self.wait()
        if not kept_given or (kept_made and failure is None):
            return None
        return failure or TimeoutError(gave_up)

    def close(self) -> None:
        """Let the calls already submitted run, then end the thread (after a drop, wait for it DROP_GRACE at most)."""
        if self._thread is None or not self._thread.is_alive():
            return
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join(DROP_GRACE if self._dropping else None)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _bytes(self) -> int:
        return sum(call.nbytes for call in self._waiting)

    def _kept_pending(self) -> bool:
        return any(call.kept for call in self._waiting) or (self._in_hand is not None and self._in_hand.kept)

    def _runs(self, call: _Call) -> bool:
        """Whether a call just taken comes to run: unless the lane failed, always, or, dropping, up to the last kept
        call (which alone of the kept ones runs: it makes those before it durable too), within the grace."""
        if self._error is not None or self._giving_up:
            return False
        if not self._dropping:
            return True
        later_kept = any(waiting.kept for waiting in self._waiting)
        return later_kept != call.kept

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._waiting or self._closing)
                if not self._waiting:
                    return
                call = self._waiting.popleft()
                runs = self._runs(call)
                self._in_hand = call
                self._lock.notify_all()
            try:
                if runs:
                    call.run()
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                with self._lock:
                    self._error = exc
            finally:
                with self._lock:
                    self._in_hand = None
                    self._lock.notify_all()
