"""The reading half of SenseIndex: search, usages, senses, hits, counts and the document catalogue.

A mixin, as opening.py holds the constructors: SenseIndex (index.py) inherits these methods, which read through the
occurrence store (`storage`), its rows (`store`) and a Searcher (`searcher`), refreshing first, and check their
arguments as the CLI and HTTP API do. This module never imports index.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dburl
from .arguments import (choice, flag, name_list, one_or_many, optional_number, real_number, text_argument,
                        whole_number, word_argument)
from .config import IndexConfig
from .errors import SenseNotFoundError, UsageError
from .conditions import Condition
from .folder import sqlite_url
from .kwicsort import USAGE_SORTS
from .records import DocumentEntry, Hit, IndexInfo, UsagePage
from .search import Searcher
from .storage import OccurrenceStore
from .store import MetaStore
from .vectors import VECTORS_FILE, VectorStore

if TYPE_CHECKING:
    from .sense_records import WordInventory
    from .sense_api import WordSenses
    from .senses import SenseReport

Documents = str | Sequence[str] | None
"""Documents named as `-d` names them: one name, or several; None (or none) for every document."""
Where = str | Condition | Sequence[Condition | str]
"""`where` conditions: one, or several."""


class IndexReading:
    """The reading methods of SenseIndex (see the module docstring)."""

    storage: OccurrenceStore
    searcher: Searcher
    path: Path
    config: IndexConfig
    store: MetaStore
    vectors: VectorStore

    def refresh(self) -> bool:
        """Take up vectors another process has saved, or a whole index rebuilt in place; True if it did.

        One definition of "changed" for every reader: OccurrenceStore.refresh. Every read (search, usages,
        documents, info) does this first, so a long-lived reader (the shell, a notebook) never answers from an
        index deleted or rebuilt under it (IndexNotFoundError once it is gone).
        """
        return self.storage.refresh()

    def query(self, text: str, k: int = 10, any_word: bool = False, documents: Documents = None,
              nprobe: int | None = None, lemma: bool = False, where: Where = ()) -> list[Hit]:
        """Nearest usages to the word or phrase marked [[like this]] in `text`: same word by default, any word if asked.

        A marked phrase ("the [[interest rate]] rose") is scored by the mean of its words' vectors
        against the same adjacent words elsewhere. Hit offsets are code points of `Hit.sentence`.
        `documents`: names as `sensesearch -d` takes them (label, path, folder, unique file name; one name is a
        list of one). `lemma`: every form of the marked word's lemma counts as the same word. `where`: conditions
        on document metadata and paths such as "year>=1900" (see sensesearch.filters; one is a list of one).
        Raises UsageError for k or nprobe not a whole number from 1, InputError for a document name that matches
        none, QueryError for a text without one marker, WordNotFoundError when the word has no usage.
        """
        k = whole_number(k, "k", least=1)
        nprobe = optional_number(nprobe, "nprobe", least=1)
        any_word = flag(any_word, "any_word")
        return self.searcher.query(text_argument(text, "the query text"), k=k, any_word=any_word,
                                   documents=self.document_keys(documents), nprobe=nprobe, lemma=lemma, where=where)

    def usages(self, word: str, limit: int | None = None, documents: Documents = None,
               lemma: bool = False, where: Where = (), sort: str = "position") -> list[Hit]:
        """Every usage of `word` (case-insensitive, any Unicode form), up to `limit` (None: all), in corpus order
        or (`sort` "left" or "right") sorted by the words of that context, the limit taken after sorting.

        A word the pre-tokenizer splits (don't, 银行) or several words ("interest rate") is a phrase:
        its usages are those stored words side by side, each Hit spanning the whole phrase.
        `documents`, `lemma` and `where` as in `query`. UsageError for a limit that is not a whole number from 1
        or another sort, InputError for an unknown document name, WordNotFoundError when there is no usage.
        """
        return self.usage_page(word, limit, documents, lemma, where, sort).hits

    def usage_page(self, word: str, limit: int | None = None, documents: Documents = None,
                   lemma: bool = False, where: Where = (), sort: str = "position") -> UsagePage:
        """`usages` and how many usages there are in all (UsagePage.total), for front ends that say what a limit
        left out."""
        limit = optional_number(limit, "limit", least=1)
        sort = choice(sort, "sort", USAGE_SORTS)
        self.refresh()
        return self.searcher.usages(word, limit=limit, documents=self.document_keys(documents), lemma=lemma,
                                    where=where, sort=sort)

    def senses(self, word: str, k: int | None = None, examples: int = 5, documents: Documents = None,
               seed: int = 0, lemma: bool = False, where: Where = ()) -> SenseReport:
        """Sense groups of `word`'s usages (see `sensesearch.senses.induce_senses`, which checks the arguments);
        `documents` as in `query`."""
        from .senses import induce_senses  # scikit-learn loads only when senses are asked for

        return induce_senses(self.searcher, word, k=k, examples=examples, documents=self.document_keys(documents),
                             seed=seed, lemma=lemma, where=where)

    def sense(self, word: str) -> WordSenses:
        """The named senses of `word`: define them, tag its usages, search within a sense (sensesearch.sense_api)."""
        from .sense_api import WordSenses  # sense_api works on this class

        return WordSenses(self, word)

    def sense_words(self, word: str | None = None) -> list[WordInventory]:
        """The sense inventory of `word` (SenseNotFoundError if it has none), or of every word that has one."""
        from .inventory import Inventory

        if word is None:
            return Inventory(self.store).words()
        found = Inventory(self.store).covering(word_argument(word))
        if found is None:
            raise SenseNotFoundError(f"{word!r} has no sense inventory")
        return [found]

    def word_vectors(self, word: str, documents: Documents = None, lemma: bool = False,
                     where: Where = ()) -> tuple[np.ndarray, np.ndarray]:
        """Occurrence ids and stored vectors of every usage of `word` (of its lemma, within `where`; `documents` as
        in `query`)."""
        return self.searcher.word_vectors(word, documents=self.document_keys(documents), lemma=lemma, where=where)

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None, word: str | None = None) -> list[Hit]:
        """Hits for occurrence ids, in the given order (ids without rows are left out); with the `word` or
        phrase they are usages of, a phrase's hits span all its words. UsageError for ids that are not whole numbers
        (one id is a list of one, never the digits of a string), scores that are not one real number per id, or a
        word that is not text; IndexClosedError once closed."""
        self.storage.require_open()  # a closed index answered from its rows, as no other read does
        if ids is None:
            raise UsageError("ids must be a list of occurrence ids, not None")
        listed = [whole_number(i, "an occurrence id") for i in one_or_many(ids, "ids", int) or ()]
        if scores is not None:
            scored = one_or_many(scores, "scores", float) or []
            if len(scored) != len(listed):
                raise UsageError(f"give one score per id: {len(listed)} ids, {len(scored)} scores")
            scores = [real_number(score, "a score") for score in scored]
        return self.searcher.hits(listed, scores, None if word is None else word_argument(word))

    def info(self) -> IndexInfo:
        """Counts, recipe and sizes of the index as it is on disk now (IndexNotFoundError once it is gone)."""
        self.refresh()
        counts = self.store.counts()
        enc = self.config.encoder
        # The store's own pages, however it is named: the folder's meta.sqlite and the same file named by a sqlite URL
        # gave different sizes, as the files counted in the folder took in a reader's -shm (an index into the WAL).
        meta_bytes = self.store.size_bytes()
        return IndexInfo(path=str(self.path), documents=counts["documents"], sentences=counts["sentences"],
                         occurrences=counts["occurrences"], words=counts["words"], model=enc.model,
                         model_fingerprint=self.config.model_fingerprint, dim=self.config.dim,
                         layers=list(enc.layers), combine=enc.combine, pooling=enc.pooling,
                         compression=self.config.compression, index_type=self.vectors.describe(),
                         bytes_vectors=_files_size(self.path, VECTORS_FILE), bytes_meta=meta_bytes,
                         db_url=dburl.redact(self.config.db_url) if self.config.db_url else sqlite_url(self.path))

    def catalog(self) -> list[DocumentEntry]:
        """Every indexed document: label, path, key, counts and metadata (see sensesearch.catalog)."""
        from .catalog import list_documents

        self.refresh()
        return list_documents(self.store)

    def resolve_documents(self, names: str | Sequence[str]) -> list[str]:
        """Labels of the documents named by label, path or unique file name (one name is a list of one);
        InputError if one matches none."""
        from .catalog import resolve_labels

        return resolve_labels(self.catalog(), name_list(names, "documents") or [])

    def document_keys(self, documents: Documents) -> list[str] | None:
        """The keys of the documents a `documents` argument names (catalog.resolve_keys: by label, path or unique
        file name), or None for no restriction (None or empty): every method that takes `documents` reads names as
        the CLI's -d does, and filters by key, which no two documents share (labels may be)."""
        from .catalog import resolve_keys

        names = name_list(documents, "documents")
        return resolve_keys(self.catalog(), names) if names else None

    def documents(self) -> list[dict[str, Any]]:
        """Every indexed document as a dict, in the shape and order of `sensesearch documents --json` (one source:
        `catalog`, whose DocumentEntry.to_dict it is): id, label (the name `-d`, `remove` and a hit's `document`
        use), path (as given to `add`), key (absolute path, `#id` for a JSON Lines record; unique), sentences,
        occurrences, word_pieces, meta (the document's metadata fields) and sentences_total (None, or the sentences
        in all of a document an ingest run stopped inside: DocumentEntry), plus `document`, the label again under
        the name a Hit gives it (the key this method's dicts had before they took the CLI's shape). Ordered by key
        in code point order. IndexClosedError once closed, IndexNotFoundError once the index is gone; an empty index
        gives []."""
        return [{**entry.to_dict(), "document": entry.label} for entry in self.catalog()]


def _files_size(folder: Path, name: str) -> int:
    return sum(p.stat().st_size for p in folder.glob(name + "*") if p.is_file())
