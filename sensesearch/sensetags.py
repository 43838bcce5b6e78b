"""Sense tags: every usage of an inventory word labelled with its nearest sense, cached, and search by sense.

Tags are computed on demand by `tagging.classify` (the classifier `eval coarsewsd` uses) and kept
in the store with a key made of the inventory revision and a digest of the index's documents, so
adding or removing documents or changing the inventory makes the next read recompute them (in full:
classifying is cheap next to reading the vectors, see benchmarks/bench_sense_tagging.py). A
usage whose margin is below the word's threshold is left unassigned (sense None).
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Column, LargeBinary, String, Table, Text, delete, select
from sqlalchemy.exc import SQLAlchemyError

from .arguments import choice, optional_number, whole_number
from .errors import QueryError, SenseNotFoundError, SenseSearchError, WordNotFoundError
from .conditions import Condition, parse_conditions
from .filters import describe_scope
from .inventory import Inventory
from .query import bare_key, parse_marked
from .kwicsort import USAGE_SORTS, usage_page
from .normalize import nfc
from .records import Hit, UsagePage
from .schema import documents, metadata
from .sense_records import WordInventory, find_name, name_key
from .tagging import CLASSIFIER_VERSION, classify, knn_vote_problem

if TYPE_CHECKING:
    from . import SenseIndex

log = logging.getLogger(__name__)
UNASSIGNED = -1

sense_tags = Table(
    "sense_tag_cache", metadata,
    Column("word", Text, primary_key=True),
    Column("key", String(128), nullable=False),
    Column("senses", Text, nullable=False),
    # One row per word, arrays as little-endian bytes: reading 10^5 tags as rows cost more than tagging anew.
    Column("ids", LargeBinary, nullable=False),
    Column("sense", LargeBinary, nullable=False),
    Column("margin", LargeBinary, nullable=False),
)
TAG_TABLES = [sense_tags]
_memo: weakref.WeakKeyDictionary[Any, dict[str, WordTags]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class WordTags:
    """Tags of every usage of one word: ids (n,) int64 in corpus order (schema.corpus_order), sense (n,) int64
    index into `senses` or -1 (unassigned), margin (n,) float32 (see tagging.Tags); `key` is the cache key they
    were made for."""

    word: str
    senses: list[str]
    ids: np.ndarray
    sense: np.ndarray
    margin: np.ndarray
    key: str

    def sense_index(self, name: str) -> int:
        """Position of sense `name` (-1 for "unassigned"), found in any case or normal form (sense_records.find_name);
        SenseNotFoundError naming the word's senses when unknown, UsageError when `name` may mean several."""
        if nfc(name.strip()) == "unassigned":
            return UNASSIGNED
        found = find_name(self.senses, name)
        if found is not None:
            return self.senses.index(found)
        if name_key(name) == "unassigned":
            return UNASSIGNED  # "Unassigned", unless a sense was so named before check_name refused it
        raise SenseNotFoundError(f"{self.word!r} has no sense {name!r} (senses: {', '.join(map(repr, self.senses))})")

    def ids_of(self, name: str) -> np.ndarray:
        """Occurrence ids tagged `name` ("unassigned": those below the threshold)."""
        return self.ids[self.sense == self.sense_index(name)]

    def counts(self) -> dict[str, int]:
        """Usages per sense name, and "unassigned"."""
        found = Counter(self.sense.tolist())
        counts = {name: found.get(i, 0) for i, name in enumerate(self.senses)}
        counts["unassigned"] = found.get(UNASSIGNED, 0)
        return counts

    def by_id(self) -> dict[int, tuple[str | None, float]]:
        return {int(i): (self.senses[s] if s >= 0 else None, float(m))
                for i, s, m in zip(self.ids.tolist(), self.sense.tolist(), self.margin.tolist())}


def content_digest(index: SenseIndex) -> str:
    """A digest of the stored documents (id, content hash, occurrence range): changes on every add or remove."""
    digest = hashlib.sha256()
    with index.store.engine.connect() as conn:
        for row in conn.execute(select(documents.c.id, documents.c.content_hash, documents.c.first_occurrence,
                                       documents.c.n_occurrences).order_by(documents.c.id)):
            digest.update(f"{row[0]}:{row[1]}:{row[2]}:{row[3]};".encode())
    return digest.hexdigest()[:32]


def inventory_of(index: SenseIndex, word: str) -> WordInventory:
    """The inventory of `word`, or of the word that tags it as one of its forms; SenseNotFoundError when neither."""
    found = Inventory(index.store).covering(word)
    if found is None or not found.senses:
        raise SenseNotFoundError(f"{word!r} has no sense inventory; add senses with `sensesearch sense add {word} ...`")
    return found


def word_tags(index: SenseIndex, word: str) -> WordTags:
    """Tags of every usage of `word`'s inventory forms, from the cache when it is current, else computed and stored."""
    inventory = inventory_of(index, word)
    # The vector layout and its trained code are in the key too: an IVF rebuild re-quantises every stored vector, and
    # reindex trains a new code over the same documents (the digest of the documents alone had kept old tags).
    # "c": tags listed in corpus order; caches from before, in id order, are made anew.
    key = f"{CLASSIFIER_VERSION}c:{inventory.revision}:{content_digest(index)}:{index.vectors.code_digest()}"[:128]
    memo = _memo.setdefault(index, {})
    cached = memo.get(inventory.word)
    if cached is not None and cached.key == key:
        return cached
    tags = _load(index, inventory.word, key)
    if tags is None:
        tags = compute_tags(index, inventory, key)
        if not index.store.read_only:  # a reader never writes, not even a cache (read-only media, shared indexes)
            _save(index, tags)
    memo[inventory.word] = tags
    return tags


def compute_tags(index: SenseIndex, inventory: WordInventory, key: str = "") -> WordTags:
    """Classify every stored usage of the inventory's forms; WordNotFoundError when none occurs."""
    parts = []
    for form in inventory.forms:
        try:
            parts.append(index.word_vectors(form))
        except WordNotFoundError:
            continue
    if not parts:
        raise WordNotFoundError(f"{inventory.word!r} does not occur in the index")
    ids = np.concatenate([p[0] for p in parts])
    vectors = np.concatenate([p[1] for p in parts])
    # A form that is a phrase of stored words (an example marking "bank's" adds the form bank's, whose lemma is bank)
    # finds usages another form finds too: each usage is tagged once, with the vector of the first form holding it
    # (the word itself comes first), else it was counted twice in every count and listing.
    _, first = np.unique(ids, return_index=True)
    kept = np.sort(first)
    ids, vectors = ids[kept], vectors[kept]
    order = index.store.corpus_order(ids)
    ids, vectors = ids[order], vectors[order]
    examples, labels = inventory.training()
    problem = knn_vote_problem(inventory.word, inventory.method, inventory.k, len(labels))
    if problem:
        log.warning("%s (sensesearch sense config)", problem)
    tags = classify(examples, labels, vectors, inventory.method, inventory.k)
    sense = np.where(tags.margin >= inventory.threshold, tags.sense, UNASSIGNED).astype(np.int64)
    return WordTags(word=inventory.word, senses=tags.senses, ids=ids, sense=sense, margin=tags.margin, key=key)


def _load(index: SenseIndex, word: str, key: str) -> WordTags | None:
    try:
        with index.store.engine.connect() as conn:
            row = conn.execute(select(sense_tags).where(sense_tags.c.word == word)).first()
    except (SQLAlchemyError, SenseSearchError):
        return None  # no cache table yet (made on the first save)
    if row is None or row.key != key:
        return None
    return WordTags(word=word, senses=row.senses.split("\t"), ids=np.frombuffer(row.ids, dtype="<i8").astype(np.int64),
                    sense=np.frombuffer(row.sense, dtype="<i2").astype(np.int64),
                    margin=np.frombuffer(row.margin, dtype="<f4").astype(np.float32), key=key)


def _save(index: SenseIndex, tags: WordTags) -> None:
    """Store the tags; a failure (a reader without write rights, a busy database) only costs a recompute."""
    try:
        with index.store.begin() as conn:
            metadata.create_all(conn, tables=TAG_TABLES)
            conn.execute(delete(sense_tags).where(sense_tags.c.word == tags.word))
            conn.execute(sense_tags.insert().values(
                word=tags.word, key=tags.key, senses="\t".join(tags.senses), ids=tags.ids.astype("<i8").tobytes(),
                sense=tags.sense.astype("<i2").tobytes(), margin=tags.margin.astype("<f4").tobytes()))
    except (SQLAlchemyError, SenseSearchError) as exc:
        log.warning("sense tags of %r were not cached: %s", tags.word, exc)


def forget(index: SenseIndex, word: str) -> None:
    """Drop the in-process tags of `word` (the stored ones are keyed, so they go stale by themselves)."""
    _memo.get(index, {}).pop(bare_key(word), None)


# ---- search by sense -----------------------------------------------------------------------------

def sense_usages(index: SenseIndex, word: str, sense: str, limit: int | None = None,
                 documents: str | Sequence[str] | None = None, where: Sequence[Condition | str] = (),
                 sort: str = "position") -> UsagePage:
    """Usages of `word` tagged `sense` ("unassigned" for the doubtful ones), in corpus order or sorted by context
    (kwicsort.usage_page, before `limit` is taken), and how many there are; score = margin.

    `documents` and `where` keep those in some documents, as SenseIndex.usages takes them. UsageError for a limit
    that is not a whole number from 1 (None: all) or another sort, InputError for an unknown document name."""
    limit = optional_number(limit, "limit", least=1)
    sort = choice(sort, "sort", USAGE_SORTS)
    documents = index.document_keys(documents)
    conditions = parse_conditions(where)
    tags = word_tags(index, word)
    chosen = tags.sense == tags.sense_index(sense)
    ids, margins = tags.ids[chosen], tags.margin[chosen]
    if documents or conditions:
        keep = np.isin(ids, _within(index, inventory_of(index, word), ids, documents, conditions, sense))
        ids, margins = ids[keep], margins[keep]
    return usage_page(len(ids), lambda n: index.hits(ids[:n].tolist(), margins[:n].tolist()), sort, limit)


def sense_query(index: SenseIndex, word: str, text: str, sense: str, k: int = 10,
                documents: str | Sequence[str] | None = None, where: Sequence[Condition | str] = ()) -> list[Hit]:
    """Usages of `word` tagged `sense` nearest to the [[marked]] word of `text`, best first; score = cosine.

    `documents` and `where` keep those in some documents, as SenseIndex.query takes them. UsageError for k that is
    not a whole number from 1, InputError for an unknown document name, QueryError for a text without one marker."""
    k = whole_number(k, "k", least=1)
    documents = index.document_keys(documents)
    conditions = parse_conditions(where)
    inventory = inventory_of(index, word)
    marked = parse_marked(text)
    if bare_key(marked.word) not in inventory.forms:  # checked before the model loads
        raise QueryError(f"the marked word {marked.word!r} is not one of the forms {', '.join(inventory.forms)}")
    _, vector = index.searcher.embed_marked(text)
    ids = word_tags(index, inventory.word).ids_of(sense)
    if documents or conditions:
        ids = _within(index, inventory, ids, documents, conditions, sense)
    if not len(ids):
        return []
    return index.searcher.ranked([(i,) for i in ids.tolist()], index.vectors.reconstruct(ids) @ vector, vector, k)


def _within(index: SenseIndex, inventory: WordInventory, ids: np.ndarray, documents: Sequence[str] | None,
            where: Sequence[Condition], sense: str) -> np.ndarray:
    """The ids that lie in the named documents (keys) and in documents meeting every condition; WordNotFoundError,
    as a search without a sense gives, when that leaves none of the sense's usages."""
    allowed = [i for form in inventory.forms for i in index.store.occurrence_ids(form, documents, where=where)]
    kept = ids[np.isin(ids, np.asarray(allowed, dtype=np.int64))]
    if len(ids) and not len(kept):
        raise WordNotFoundError(f"{inventory.word!r} has no usage in the sense {sense!r}"
                                f"{describe_scope(documents, where, index.store.why_none_meet(where))}, "
                                f"though it has {len(ids)}",
                                any_word_helps=False)  # a sense is one word's: a search by it refuses any_word
    return kept


@dataclass(frozen=True)
class SenseDocument:
    """A document and how many usages of the word it holds in the sense (and in all)."""

    document: str
    count: int
    usages: int
    path: str = ""
    """The file the document came from: records of one id in two JSON Lines files share their label."""

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "path": self.path, "count": self.count, "usages": self.usages}


def sense_documents(index: SenseIndex, word: str, sense: str, min_count: int = 1) -> list[SenseDocument]:
    """Documents with at least `min_count` usages of `word` in `sense`, most such usages first; UsageError for a
    min_count that is not a whole number from 1."""
    min_count = whole_number(min_count, "min_count", least=1)
    tags = word_tags(index, word)
    wanted = tags.sense_index(sense)
    # A document's occurrences hold one contiguous id range (store.py), so ids map to documents by bisection.
    docs = sorted(index.store.all_documents(), key=lambda d: d.first_occurrence)
    if not docs:
        return []
    starts = np.asarray([d.first_occurrence for d in docs], dtype=np.int64)
    stops = starts + np.asarray([d.n_occurrences for d in docs], dtype=np.int64)
    where = np.searchsorted(starts, tags.ids, side="right") - 1
    inside = (where >= 0) & (tags.ids < stops[np.maximum(where, 0)])
    total = np.bincount(where[inside], minlength=len(docs))
    in_sense = np.bincount(where[inside & (tags.sense == wanted)], minlength=len(docs))
    chosen = np.flatnonzero(in_sense >= min_count)
    with index.store.engine.connect() as conn:  # every document's, as all_documents reads them: no bound on binds
        path_of = dict(conn.execute(select(documents.c.id, documents.c.path)).all())
    found = [SenseDocument(docs[i].label, int(in_sense[i]), int(total[i]), path_of.get(docs[i].id) or "")
             for i in chosen]
    return sorted(found, key=lambda d: (-d.count, d.document))
