"""Run calls one after another, in the order given, on one background thread: a write session's database lane.

A store writer hands its SQL statements (row inserts, document digests, deletes) to a lane, so that the
database's work overlaps the caller's (building the next chunk's rows, adding vectors to FAISS, saving
them). Keeping every statement of a transaction on one thread, in order, keeps the transaction what
it would be had the caller run them itself.

The first call that raises stops the lane: later calls are skipped, and the error is raised again in
the caller at its next `submit` or `flush`, so a failure is never lost, only reported a step later.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

DEPTH = 32
"""Calls waiting at most. A writer's calls hold a chunk's rows or one document's, which its session holds
until the next checkpoint anyway; a depth of 4 made the caller wait for the lane at bursts of documents."""


class Lane:
    """One background thread running submitted calls in order, at most `depth` of them waiting.

    `depth` 0: no thread; each call runs in `submit`, in the caller, and raises there. `close()` the lane
    when done: its thread ends once the calls before it have run.
    """

    def __init__(self, depth: int = DEPTH, name: str = "sensesearch-lane") -> None:
        self._calls: queue.Queue[Callable[[], object] | None] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._dropping = False
        self._running = False
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def submit(self, call: Callable[[], object]) -> None:
        """Queue `call` after those submitted before it (waiting while `depth` wait), or run it now without a
        thread; raises the error of an earlier call instead, if one failed."""
        self._raise()
        if self._thread is None:
            call()
        else:
            self._calls.put(call)

    def flush(self) -> None:
        """Wait until every submitted call has run; raise the error of the first one that failed."""
        self.wait()
        self._raise()

    def wait(self) -> BaseException | None:
        """Wait until every submitted call has run, or been skipped after a failure; the failure, if any."""
        if self._thread is not None:
            self._calls.join()
        return self._error

    def drop(self, cancel: Callable[[], object] | None = None) -> None:
        """Skip the calls still waiting, and wait for the one running, if any, after `cancel()`-ing it (a session
        rolling back: the calls would all be undone, and the one in hand may wait on another's lock)."""
        self._dropping = True
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
            call = self._calls.get()
            try:
                if call is None:
                    return
                if self._error is None and not self._dropping:
                    self._running = True
                    call()
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                self._error = exc
            finally:
                self._running = False
                self._calls.task_done()
