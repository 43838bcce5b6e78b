"""The ids a store hands out: one range for documents, sentences, occurrences and words, so shards built apart
can be merged (their occurrence ids are also their FAISS ids)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from .errors import StorageError, UsageError
from .schema import documents, occurrences, sentences, words
from .store import MetaStore

ID_TABLES = (documents, sentences, occurrences, words)
NO_LIMIT = 2**62


@dataclass(frozen=True)
class IdRange:
    """The ids a store hands out, the same half-open range [first, first + size) for documents, sentences,
    occurrences and words.

    The default (from 1, unbounded) is one index on its own. Shards built apart to be merged later
    each take their own range (shard i of n: first = 1 + i * size), so their occurrence ids, which
    are also their FAISS ids, never collide and their vectors can be searched together.
    """

    first: int = 1
    size: int | None = None

    def __post_init__(self) -> None:
        if self.first < 1 or (self.size is not None and self.size < 1):
            raise UsageError(f"an id range starts at 1 or later and holds at least one id, not {self}")

    @property
    def stop(self) -> int:
        """One past the last id of the range."""
        return NO_LIMIT if self.size is None else self.first + self.size

    def next_ids(self, meta: MetaStore) -> tuple[int, int, int, int]:
        """The next free (document, sentence, occurrence, word) ids: one past the highest used in the range."""
        found = []
        with meta.engine.connect() as conn:
            for table in ID_TABLES:
                query = select(func.max(table.c.id)).where(table.c.id >= self.first)
                if self.size is not None:
                    # Only a bounded range compares with its end: PostgreSQL refuses an INTEGER compared
                    # with an unbounded range's 2**62 ("integer out of range").
                    query = query.where(table.c.id < self.stop)
                top = conn.execute(query).scalar()
                found.append(self.first if top is None else int(top) + 1)
        return found[0], found[1], found[2], found[3]

    def check(self, last: int, what: str) -> None:
        """StorageError when id `last` of `what` lies past the range (this shard is full, as a disk can be)."""
        if last >= self.stop:
            raise StorageError(f"{what} id {last} lies past this index's id range "
                               f"[{self.first}, {self.stop}); give the shard a larger range")
