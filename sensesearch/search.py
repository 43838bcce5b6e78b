"""Search: same-word exact scoring from SQLite candidates, any-word ANN over FAISS, rows to Hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import IndexCorruptError, QueryError, WordNotFoundError
from .query import MarkedQuery, normalize_form, parse_marked, span_vector
from .records import Hit

if TYPE_CHECKING:
    from .parts import IndexParts


class Searcher:
    """Query logic over an open index's parts (parts.IndexParts)."""

    def __init__(self, index: IndexParts) -> None:
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
              nprobe: int | None = None) -> list[Hit]:
        if k < 1:
            raise QueryError("k must be at least 1")
        marked, vector = self.embed_marked(text, single_word=not any_word)
        if any_word:
            return self._nearest_any(vector, k, documents, nprobe)
        ids, vectors = self.word_vectors(marked.word, documents=documents)
        return self._best_hits(ids, vectors @ vector, k)

    def _nearest_any(self, vector: np.ndarray, k: int, documents: Sequence[str] | None,
                     nprobe: int | None) -> list[Hit]:
        self.index.refresh()
        if self.index.vectors.ntotal == 0:
            if self.index.store.counts()["occurrences"]:
                raise IndexCorruptError("the index has usages but its vectors file holds no vectors; "
                                        "run `sensesearch verify --repair`")
            raise WordNotFoundError("the index holds no usages yet; index a corpus first")
        if documents:
            return self._nearest_in_documents(vector, k, documents)
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

    def _nearest_in_documents(self, vector: np.ndarray, k: int, documents: Sequence[str]) -> list[Hit]:
        ranges = [(d.first_occurrence, d.n_occurrences) for d in self.index.store.all_documents()
                  if d.label in documents]
        if not ranges:
            raise WordNotFoundError("none of the named documents is in the index")
        ids = np.concatenate([np.arange(first, first + n, dtype=np.int64) for first, n in ranges])
        ids = ids[self.index.vectors.contains(ids)]
        return self._best_hits(ids, self.index.vectors.reconstruct(ids) @ vector, k)

    def _best_hits(self, ids: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
        """Hits for the k highest scores, best first (ties in id order)."""
        top = np.argsort(-scores, kind="stable")[:k]
        return self.hits(ids[top].tolist(), scores[top].tolist())

    def word_vectors(self, word: str, documents: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        form = normalize_form(word.strip())
        store = self.index.store
        ids = np.asarray(store.occurrence_ids(form, documents), dtype=np.int64)
        self.index.refresh()
        if self.index.store is not store:
            # The index was rebuilt in place: the ids came from the old rows; ask the new ones.
            ids = np.asarray(self.index.store.occurrence_ids(form, documents), dtype=np.int64)
        if len(ids) == 0:
            raise WordNotFoundError(self._not_found_message(word, form, documents))
        # Rows are committed only after their vectors are saved, and the file was re-read after the rows:
        # a row without a vector is damage, never an answer with usages silently left out.
        missing = int((~self.index.vectors.contains(ids)).sum())
        if missing:
            raise IndexCorruptError(f"{missing} of the {len(ids)} usages of {word.strip()!r} have no vector: the vectors "
                                    "file does not match the metadata; run `sensesearch verify --repair`")
        return ids, self.index.vectors.reconstruct(ids)

    def _not_found_message(self, word: str, form: str, documents: Sequence[str] | None) -> str:
        where = " in the chosen documents" if documents else ""
        message = f"{word!r} does not occur in the index{where}"
        similar = self.index.store.top_forms(form[:3]) if len(form) >= 3 else []
        if similar:
            message += f" (known words starting alike: {', '.join(similar)})"
        return message + "; try --any-word to search usages of every word"

    def usages(self, word: str, limit: int | None = None, documents: Sequence[str] | None = None) -> list[Hit]:
        form = normalize_form(word.strip())
        ids = self.index.store.occurrence_ids(form, documents)
        if not ids:
            raise WordNotFoundError(self._not_found_message(word, form, documents))
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
