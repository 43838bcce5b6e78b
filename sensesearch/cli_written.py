"""The `index` bar's position: how many bytes of the input are written, not merely read.

Reading runs a chunk and the stored-version lookups ahead of the model, so a bar over the bytes read said 59% when
16% of the sentences were encoded, and 100% with 45 s of encoding to go (the inaugural corpus). `WrittenBytes.read`
notes where each document lies in the input as it is read; `WrittenBytes.written` hears how far the run has written
(sensesearch's `written` callback of SenseIndex.add) and moves the position there.
"""

from __future__ import annotations

import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sensesearch import Document, Skipped, path_text


def file_size(path: str | Path) -> int:
    """Bytes of the input file `path`, as the bar's total counts them: 0 for stdin, and for a folder (the path of a
    skip that names what a folder left out), whose own size had taken the bar past its total."""
    if not str(path) or str(path) in ("<stdin>", "-"):
        return 0
    try:
        found = Path(path).stat()
    except OSError:
        return 0
    return found.st_size if stat.S_ISREG(found.st_mode) else 0


class WrittenBytes:
    """Bytes of the input written so far (`position`), moved by `written`, never back; `moved` hears each move.

    `files`: the inputs in reading order (a scan's files), sized once here, so that `total` and the positions agree
    (a file grown, emptied or gone since counts as it was); None for input with no size (stdin), whose text's bytes
    are the position. A document lies at the bytes of the files before its own, plus where the one before it in its
    file ended: a JSONL record at its line's end (Document.input_end), so the bar moves evenly through a large JSONL
    file, other documents after their text's UTF-8 bytes (at most the file's size: a decoded file may grow); it
    reaches where the next document starts, and the last one reaches the total, so files that yield no document (unreadable,
    empty, every record skipped) count too. Documents are told apart by identity, not key: an input named twice (a
    folder and a file in it) reads one key twice. A skip that names a JSONL line ("f.jsonl:4") is inside its file.
    The reading thread and the writing one both call in, hence the lock; `moved` is called holding it, in order.
    """

    def __init__(self, files: Sequence[str | Path] | None, moved: Callable[[int], None] | None = None) -> None:
        self.position = 0
        self._moved = moved
        self._names = [path_text(f) for f in files] if files is not None else None
        self._sizes = [file_size(f) for f in files] if files is not None else []
        self._starts = [0]
        for size in self._sizes:
            self._starts.append(self._starts[-1] + size)
        self.total = self._starts[-1] if files is not None else None
        self._file = -1  # index of the file being read
        self._first_key: str | None = None  # of its first document: a file named twice begins with it again
        self._text = 0  # bytes of text read from the current file (all of stdin's, unsized)
        self._last: int | None = None  # id of the last document read
        # id(document): document, first byte, bytes, characters
        self._placed: OrderedDict[int, tuple[Document, int, int, int]] = OrderedDict()
        self._through: int | None = None  # id of the last document written to its end
        self._lock = threading.Lock()

    def read(self, items: Iterable[Document | Skipped]) -> Iterator[Document | Skipped]:
        """`items` passed through, each document's place noted."""
        for item in items:
            with self._lock:
                if self._names is not None:
                    self._follow(item)
                if isinstance(item, Document):
                    if self._first_key is None:
                        self._first_key = item.key
                    start = self._at(self._text)
                    self._reach(start)
                    if item.input_end is not None and self._names is not None:
                        self._text = max(self._text, item.input_end)  # a JSONL record: its line's end, JSON and all
                    else:
                        self._text += len(item.text.encode("utf-8", "surrogatepass"))
                    self._placed[id(item)] = (item, start, self._at(self._text) - start, len(item.text))
                    self._last = id(item)
            yield item
        with self._lock:
            if self.total is not None:
                self._reach(self.total)

    def written(self, doc: Document, chars: int) -> None:
        """`doc` is written through its first `chars` characters."""
        with self._lock:
            placed = self._placed.get(id(doc))
            if placed is None or placed[0] is not doc:  # passed already: a report that came late from the other thread
                return
            _, start, size, length = placed
            through = size * chars // length if length else size
            if through >= size:
                self._through = id(doc)
            self._move(start + through)
            while next(iter(self._placed)) != id(doc):
                self._placed.popitem(last=False)

    def _follow(self, item: Document | Skipped) -> None:
        """Move to the file `item` comes from: the next file of its name, unless it is a further record of the file
        being read (a file named twice is read again from its first document); an item of no file named (a JSONL
        line's skip, a folder's) stays in the current one."""
        assert self._names is not None
        current = self._names[self._file] if self._file >= 0 else None
        if item.path == current and not (isinstance(item, Document) and item.key == self._first_key):
            return
        try:
            found = self._names.index(item.path, self._file + 1)
        except ValueError:
            return
        self._file, self._text, self._first_key = found, 0, None

    def _at(self, text_bytes: int) -> int:
        if self._names is None:
            return text_bytes
        if self._file < 0:
            return 0
        return self._starts[self._file] + min(text_bytes, self._sizes[self._file])

    def _reach(self, end: int) -> None:
        """The last document read reaches `end`: where the next one starts, or the total."""
        if self._last is None or self._last not in self._placed:
            return
        doc, start, size, length = self._placed[self._last]
        if end > start + size:
            self._placed[self._last] = (doc, start, end - start, length)
            if self._through == self._last:  # written already: the bytes up to `end` are too
                self._move(end)

    def _move(self, position: int) -> None:
        if position > self.position:
            self.position = position
            if self._moved is not None:
                self._moved(position)
