"""The sense inventory of an index: named senses of a word, each defined by example usages, in the metadata store.

Tables live in the store's SQLAlchemy MetaData (so `MetaStore` creates them with the rest) and are
also created here on first use, idempotently, for stores made before the inventory existed. Each
example keeps its sentence, the target's character span in it and its vector (float32, the index's
recipe), so tagging needs no model. Every change gives the word a new revision token, which keys the
tag cache (sensesearch.sensetags). The records read and written here (WordInventory, SenseEntry, Example) and the
rule for sense names are sense_records.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from sqlalchemy import (JSON, BigInteger, Column, Float, ForeignKey, Integer, LargeBinary, String, Table, Text,
                        UniqueConstraint, delete, func, inspect, select, update)
from sqlalchemy.engine import Connection

from .arguments import real_number, whole_number
from .errors import InputError, SenseNotFoundError, UsageError
from .query import bare_key, normalize_form
from .schema import metadata, occurrences, sentences, settings
from .sense_records import Example, SenseEntry, WordInventory, check_name, new_name
from .store import MetaStore
from .tagging import DEFAULT_KNN, check_method, knn_vote_problem

INVENTORY_SCHEMA = "1"
"""Recorded in `settings` as sense_inventory_schema; a numbered migration replaces it once the store has them."""

inventory_words = Table(
    "inventory_words", metadata,
    Column("word", Text, primary_key=True),
    Column("forms", JSON, nullable=False),
    Column("method", String(16), nullable=False),
    Column("k", Integer, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("revision", String(32), nullable=False),
)
inventory_senses = Table(
    "inventory_senses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("word", Text, ForeignKey("inventory_words.word"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    UniqueConstraint("word", "name"),
)
inventory_examples = Table(
    "inventory_examples", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sense_id", Integer, ForeignKey("inventory_senses.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("occurrence_id", BigInteger, nullable=True),
    Column("vector", LargeBinary, nullable=False),
)
INVENTORY_TABLES = [inventory_words, inventory_senses, inventory_examples]


class Inventory:
    """Reads and changes the sense inventory of one metadata store."""

    def __init__(self, store: MetaStore) -> None:
        self.store = store
        self._ready = False

    def _ensure(self, conn: Connection) -> None:
        if self._ready:
            return
        metadata.create_all(conn, tables=INVENTORY_TABLES)
        found = conn.execute(select(settings.c.value).where(settings.c.key == "sense_inventory_schema")).scalar()
        if found is None:
            conn.execute(settings.insert().values(key="sense_inventory_schema", value=INVENTORY_SCHEMA))
        self._ready = True

    def _tables_exist(self) -> bool:
        """Whether the store has inventory tables; a read, so readers never write or need the CREATE right."""
        if self._ready:
            return True
        with self.store.engine.connect() as conn:
            return inspect(conn).has_table(inventory_words.name, schema=self.store.schema)

    def words(self) -> list[WordInventory]:
        """Every word with an inventory, in word order."""
        if not self._tables_exist():
            return []
        with self.store.engine.connect() as conn:
            names = list(conn.execute(select(inventory_words.c.word).order_by(inventory_words.c.word)).scalars())
        return [w for w in (self.get(n) for n in names) if w is not None]

    def get(self, word: str) -> WordInventory | None:
        """The inventory of `word` (any case), or None when it has none."""
        if not self._tables_exist():
            return None
        key = bare_key(word)
        with self.store.engine.connect() as conn:
            row = conn.execute(select(inventory_words).where(inventory_words.c.word == key)).first()
            if row is None:
                return None
            # The usage a cluster example was taken from, as it stands now: its document may have been removed and
            # the id given to another word's usage since (ids of the last documents are used again).
            found = conn.execute(
                select(inventory_senses.c.name, inventory_examples.c.text, inventory_examples.c.start,
                       inventory_examples.c.end, inventory_examples.c.vector, inventory_examples.c.source,
                       inventory_examples.c.occurrence_id, sentences.c.text, occurrences.c.start, occurrences.c.end)
                .join(inventory_examples, inventory_examples.c.sense_id == inventory_senses.c.id, isouter=True)
                .join(occurrences, occurrences.c.id == inventory_examples.c.occurrence_id, isouter=True)
                .join(sentences, sentences.c.id == occurrences.c.sentence_id, isouter=True)
                .where(inventory_senses.c.word == key)
                .order_by(inventory_senses.c.name, inventory_examples.c.id)).all()
        grouped: dict[str, list[Example]] = {}
        for name, text, start, end, blob, source, occurrence, now_text, now_start, now_end in found:
            examples = grouped.setdefault(name, [])
            if text is not None:
                # An id that no longer names this usage is not given: the example (its vector) stays as it was.
                same = occurrence is not None and (now_text, now_start, now_end) == (text, start, end)
                examples.append(Example(text, start, end, np.frombuffer(blob, dtype=np.float32).copy(), source,
                                        int(occurrence) if same else None))
        return WordInventory(word=row.word, forms=tuple(row.forms), method=row.method, k=row.k,
                             threshold=float(row.threshold), revision=row.revision,
                             senses=tuple(SenseEntry(n, tuple(e)) for n, e in grouped.items()))

    def covering(self, word: str) -> WordInventory | None:
        """The inventory of `word`, else of the word whose tagged forms include it (banks: bank's, when bank's
        inventory lists banks), else None."""
        found = self.get(word)
        if found is not None or not self._tables_exist():
            return found
        key = bare_key(word)
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(inventory_words.c.word, inventory_words.c.forms)
                                .order_by(inventory_words.c.word)).all()
        owner = next((row.word for row in rows if key in row.forms), None)
        return self.get(owner) if owner is not None else None

    def add(self, word: str, name: str, examples: Sequence[Example], forms: Sequence[str] = ()) -> WordInventory:
        """Add examples to sense `name` of `word` (both made if new), each once; `forms` are more word forms to tag.

        UsageError for a name check_name refuses, or one that differs from a sense of the word only in case (new_name).
        """
        key = bare_key(word)
        name = check_name(name)
        if not key or any(ch.isspace() for ch in key):
            raise InputError(f"the inventory word must be one word, not {word!r}")
        if not examples:
            raise InputError(f"give at least one example usage of {word!r} in the sense {name!r}")
        with self.store.begin() as conn:
            self._ensure(conn)
            row = conn.execute(select(inventory_words).where(inventory_words.c.word == key)).first()
            known = list(row.forms) if row is not None else [key]
            wanted = known + sorted({normalize_form(f) for f in forms} - set(known))
            if row is None:
                conn.execute(inventory_words.insert().values(word=key, forms=wanted, method="centroid",
                                                             k=DEFAULT_KNN, threshold=0.0, revision=_revision()))
            else:
                conn.execute(update(inventory_words).where(inventory_words.c.word == key)
                             .values(forms=wanted, revision=_revision()))
            # Checked here too, in the transaction that adds the name: another writer may have added its twin since.
            name = new_name(key, list(conn.execute(select(inventory_senses.c.name)
                                                   .where(inventory_senses.c.word == key)).scalars()), name)
            sense_id = conn.execute(select(inventory_senses.c.id).where(
                inventory_senses.c.word == key, inventory_senses.c.name == name)).scalar()
            if sense_id is None:
                sense_id = conn.execute(inventory_senses.insert().values(word=key, name=name)).inserted_primary_key[0]
            # An example the sense already has (the same word in the same sentence) is not added again: it would
            # weigh twice in the sense's centroid, and rerunning the same `sense add` would shift the tags.
            seen = {tuple(r) for r in conn.execute(select(inventory_examples.c.text, inventory_examples.c.start,
                                                          inventory_examples.c.end)
                                                   .where(inventory_examples.c.sense_id == sense_id))}
            fresh = []
            for e in examples:
                if (e.text, e.start, e.end) not in seen:
                    seen.add((e.text, e.start, e.end))
                    fresh.append(e)
            if fresh:
                conn.execute(inventory_examples.insert(), [
                    {"sense_id": sense_id, "text": e.text, "start": e.start, "end": e.end, "source": e.source,
                     "occurrence_id": e.occurrence_id, "vector": np.asarray(e.vector, dtype=np.float32).tobytes()}
                    for e in fresh])
        result = self.get(key)
        assert result is not None
        return result

    def remove(self, word: str, name: str | None = None) -> list[str]:
        """Remove one sense of `word`, or every sense (and its settings) when `name` is None; returns names removed.

        `name` finds its sense in any case or normal form (WordInventory.find). SenseNotFoundError when the word or
        sense is not in the inventory; UsageError when `name` may mean several (stored before names were told apart).
        """
        found = self.get(word)
        if found is None:
            raise SenseNotFoundError(f"{word!r} has no sense inventory")
        # Looked up, not checked as a new name: a name stored before check_name refused it (one holding a zero-width
        # space) can still be removed, given as stored.
        names = found.sense_names() if name is None else [n for n in [found.find(name)] if n is not None]
        if not names:
            raise SenseNotFoundError(f"{word!r} has no sense {name!r} "
                                     f"(senses: {', '.join(map(repr, found.sense_names()))})")
        with self.store.begin() as conn:
            ids = list(conn.execute(select(inventory_senses.c.id).where(
                inventory_senses.c.word == found.word, inventory_senses.c.name.in_(names))).scalars())
            conn.execute(delete(inventory_examples).where(inventory_examples.c.sense_id.in_(ids)))
            conn.execute(delete(inventory_senses).where(inventory_senses.c.id.in_(ids)))
            left = conn.execute(select(func.count()).select_from(inventory_senses)
                                .where(inventory_senses.c.word == found.word)).scalar()
            if left:
                conn.execute(update(inventory_words).where(inventory_words.c.word == found.word)
                             .values(revision=_revision()))
            else:
                conn.execute(delete(inventory_words).where(inventory_words.c.word == found.word))
        return names

    def configure(self, word: str, method: str | None = None, k: int | None = None,
                  threshold: float | None = None) -> WordInventory:
        """Change how `word`'s usages are tagged; unset values stay. InputError for an unknown method, UsageError
        for k that is not a whole number from 1, k with a method other than knn, or a threshold that is not a number
        in 0..2."""
        found = self.get(word)
        if found is None:
            raise SenseNotFoundError(f"{word!r} has no sense inventory; add senses first")
        method = method or found.method
        check_method(method, 1)  # the method first: k=3 given with "svm" had been told to take knn
        if k is not None and method != "knn":
            # Taken and ignored before: `sense config -k 3 --method centroid` said nothing, and tagged as before.
            raise UsageError(f"k is how many examples vote with the knn method; {found.word!r} is tagged by {method}: "
                             "give method knn with it")
        k = found.k if k is None else whole_number(k, "k", least=1)
        check_method(method, k)
        examples = sum(len(sense.examples) for sense in found.senses)
        problem = knn_vote_problem(found.word, method, k, examples)
        if problem:
            raise UsageError(problem)
        threshold = found.threshold if threshold is None else real_number(threshold, "the margin threshold", 0.0, 2.0)
        with self.store.begin() as conn:
            conn.execute(update(inventory_words).where(inventory_words.c.word == found.word)
                         .values(method=method, k=k, threshold=threshold, revision=_revision()))
        result = self.get(found.word)
        assert result is not None
        return result


def _revision() -> str:
    return uuid.uuid4().hex
