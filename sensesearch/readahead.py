"""Run an iterator in a background thread, a bounded number of items ahead of the thread that consumes it.

Ingest uses it, for an encoder off the host CPU, so that the encoder works on chunk n+1 while the
calling thread writes chunk n (rows and vectors stay on the thread that owns the database connection
and its transaction, which is also the thread a Ctrl-C reaches). An error in the background thread is raised again in the
consumer; `close` stops the background thread at its next item and closes its iterator.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1
_JOIN_SECONDS = 60.0


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Items of `make()` (called in the background thread), at most `depth` produced ahead of the consumer.

    `depth` 0: no thread; `make()` runs in the consumer, one item at a time, as a plain loop would.
    """

    def __init__(self, make: Callable[[], Iterator[T]], depth: int, name: str = "sensesearch-readahead") -> None:
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._make = make
        self._inline: Iterator[T] | None = None
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[T]:
        if self._thread is None:
            self._inline = self._make()
            yield from self._inline
            return
        while True:
            item = self._items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        """Stop the background thread (it finishes the item in hand first) and wait for it."""
        self._stop.set()
        close = getattr(self._inline, "close", None)
        if close is not None:
            close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_JOIN_SECONDS)

    def _produce(self) -> None:
        source = self._make()
        end = _End()
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            end = _End(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self._put(end)

    def _put(self, item: T | _End) -> bool:
        """Queue `item`, waiting for room; False once the consumer has asked to stop."""
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False
