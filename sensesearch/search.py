"""Search: same-word exact scoring from SQLite candidates, any-word ANN over FAISS, rows to Hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import QueryError, WordNotFoundError
from .filters import Condition, describe, parse_conditions
from .lemmas import lemmatizer
from .query import MarkedQuery, normalize_form, parse_marked, span_vector
from .records import Hit

if TYPE_CHECKING:
    from .index import SenseIndex


class Searcher:
    """Query logic of one SenseIndex."""

    def __init__(self, index: SenseIndex) -> None:
        self.index = index

    def embed_marked(self, text: str, single_word: bool = True) -> tuple[MarkedQuery, np.ndarray]:
        """The query sentence and the unit vector of its marked word (mean of words if it spans several)."""
        marked = parse_marked(text)
        encoded = self.index.encoder.encode([marked.text])[0]
        try:
            rows, vector = span_vector(encoded, marked.start, marked.end)
        except QueryError:
            raise QueryError(f"the marked text {marked.word!r} holds no word the model reads") from None
        if single_word and len(rows) > 1:
            pieces = [marked.text[s:e] for s, e in encoded.spans[rows].tolist()]
            raise QueryError(f"the marked text {marked.word!r} is {len(rows)} words for the model ({' '.join(pieces)}); "
                             "mark a single word, or use --any-word")
        return marked, vector

    def query(self, text: str, k: int = 10, any_word: bool = False, documents: Sequence[str] | None = None,
              nprobe: int | None = None, lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        if k < 1:
            raise QueryError("k must be at least 1")
        conditions = parse_conditions(where)
        marked, vector = self.embed_marked(text, single_word=not any_word)
        if any_word:
            return self._nearest_any(vector, k, documents, nprobe, conditions)
        ids, vectors = self.word_vectors(marked.word, documents=documents, lemma=lemma, where=conditions)
        return self._best_hits(ids, vectors @ vector, k)

    def _nearest_any(self, vector: np.ndarray, k: int, documents: Sequence[str] | None,
                     nprobe: int | None, where: Sequence[Condition] = ()) -> list[Hit]:
        self.index.refresh()
        if documents or where:
            return self._nearest_in_documents(vector, k, documents, where)
        # Vectors whose rows are not committed (a writer mid-checkpoint, or a crash a reader must not
        # repair) yield no hit; ask for more until k hits are found or every vector has been seen.
        wanted = k
        while True:
            scores, ids = self.index.vectors.search(vector[None, :], wanted, nprobe=nprobe)
            keep = ids[0] >= 0
            hits = self.hits(ids[0][keep].tolist(), scores[0][keep].tolist())
            if len(hits) >= k or wanted >= self.index.vectors.ntotal:
                return hits[:k]
            wanted = min(wanted * 4, self.index.vectors.ntotal)

    def _nearest_in_documents(self, vector: np.ndarray, k: int, documents: Sequence[str] | None,
                              where: Sequence[Condition] = ()) -> list[Hit]:
        chosen = self.index.store.documents_where(where) if where else self.index.store.all_documents()
        ranges = [(d.first_occurrence, d.n_occurrences) for d in chosen if not documents or d.label in documents]
        if not ranges:
            raise WordNotFoundError("none of the named documents is in the index" if not where
                                    else f"no document in the index meets {describe(where)}")
        ids = np.concatenate([np.arange(first, first + n, dtype=np.int64) for first, n in ranges])
        ids = ids[self.index.vectors.contains(ids)]
        return self._best_hits(ids, self.index.vectors.reconstruct(ids) @ vector, k)

    def _best_hits(self, ids: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
        """Hits for the k highest scores, best first (ties in id order)."""
        top = np.argsort(-scores, kind="stable")[:k]
        return self.hits(ids[top].tolist(), scores[top].tolist())

    def word_vectors(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                     where: Sequence[Condition | str] = ()) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(self.occurrence_ids(word, documents, lemma, where), dtype=np.int64)
        self.index.refresh()
        if self.index.read_only:
            ids = ids[self.index.vectors.contains(ids)]
        return ids, self.index.vectors.reconstruct(ids)

    def occurrence_ids(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                       where: Sequence[Condition | str] = ()) -> list[int]:
        """Ids of `word`'s occurrences (of every form of its lemma with `lemma`) in the chosen documents.

        WordNotFoundError when there are none; QueryError for a condition that cannot be read.
        """
        conditions = parse_conditions(where)
        form = normalize_form(word.strip())
        lemma_form = lemmatizer(self.index.config.lemma_language)(form) if lemma else None
        ids = self.index.store.occurrence_ids(form, documents, lemma=lemma_form, where=conditions)
        if not ids:
            raise WordNotFoundError(self._not_found_message(word, form, documents, lemma_form, conditions))
        return ids

    def _not_found_message(self, word: str, form: str, documents: Sequence[str] | None,
                           lemma: str | None = None, where: Sequence[Condition] = ()) -> str:
        scope = [" in the chosen documents"] if documents else []
        scope += [" " + describe(where)] if where else []
        what = f"{word!r} (lemma {lemma!r})" if lemma is not None else repr(word)
        message = f"{what} does not occur in the index{''.join(scope)}"
        similar = self.index.store.top_forms(form[:3]) if len(form) >= 3 else []
        if similar:
            message += f" (known words starting alike: {', '.join(similar)})"
        return message + "; try --any-word to search usages of every word"

    def usages(self, word: str, limit: int | None = None, documents: Sequence[str] | None = None,
               lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        ids = self.occurrence_ids(word, documents, lemma, where)
        return self.hits(ids[:limit] if limit else ids)

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None) -> list[Hit]:
        rows = self.index.store.occurrences_by_id(ids)
        hits = []
        for i, occurrence_id in enumerate(ids):
            row = rows.get(int(occurrence_id))
            if row is None:
                continue
            hits.append(Hit(occurrence_id=row.id, word=row.sentence_text[row.start:row.end], sentence=row.sentence_text,
                            start=row.start, end=row.end, document=row.document, sentence_id=row.sentence_id,
                            position=row.position, doc_start=row.sentence_start + row.start,
                            score=None if scores is None else round(float(scores[i]), 6), meta=row.meta))
        return hits
