"""Search: same-word exact scoring from SQLite candidates, any-word ANN over FAISS, rows to Hits.

Finding a word's or phrase's usages in the rows is wordplaces.py's (WordPlaces, which Searcher extends).

Reads go through a snapshot source (storage.OccurrenceStore, or anything with the same
`meta`/`config`/`snapshot`): rows are read first and the vectors from a snapshot taken after, so
the vectors always cover the rows (see OccurrenceStore.snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .encoder import Encoder
from .errors import IndexCorruptError, WordNotFoundError
from .conditions import Condition, parse_conditions
from .filters import describe_scope
from .query import MarkedQuery, own_sentence, parse_marked, span_vector
from .kwicsort import usage_page
from .records import Hit, UsagePage, reported_cosine
from .rescore import CANDIDATES_PER_HIT, exact_vectors, rescores
from .wordplaces import NO_USAGES_YET, WordPlaces

if TYPE_CHECKING:
    from .parts import SnapshotSource

log = logging.getLogger(__name__)


TIE_DECIMALS = 6
"""Cosines equal to this many decimals are a tie: float32 products of equal vectors differ below it."""


def _best_first(scores: np.ndarray) -> np.ndarray:
    """Positions of `scores` from best to worst, ties (to TIE_DECIMALS places) in their given order."""
    return np.argsort(-np.round(scores.astype(np.float64), TIE_DECIMALS), kind="stable")


def _tied(one: Hit, other: Hit) -> bool:
    return round(one.score or 0.0, TIE_DECIMALS) == round(other.score or 0.0, TIE_DECIMALS)


class Searcher(WordPlaces):
    """Query logic over a snapshot source (parts.SnapshotSource) and an encoder (loaded on first use by `encoder`)."""

    def __init__(self, source: SnapshotSource, encoder: Callable[[], Encoder],
                 splitter: Callable[[], Any] | None = None) -> None:
        """`splitter`: what cuts a phrase into words (query.word_spans: anything with a `plan` or an `encode`),
        by default the encoder."""
        super().__init__(source, splitter or encoder)
        self.encoder = encoder

    def embed_marked(self, text: str) -> tuple[MarkedQuery, np.ndarray]:
        """The query sentence and the unit vector of its marked span (the mean of its words if several)."""
        marked = parse_marked(text)
        sentence, start, end = own_sentence(marked.text, marked.start, marked.end)
        encoded = self.encoder().encode([sentence])[0]
        _, vector = span_vector(encoded, start, end, sentence)
        return marked, vector

    def query(self, text: str, k: int = 10, any_word: bool = False, documents: Sequence[str] | None = None,
              nprobe: int | None = None, lemma: bool = False, where: Sequence[Condition | str] = ()) -> list[Hit]:
        """Usages nearest to the marked span: a word, or a phrase (its vector the mean of its words').

        The arguments are checked by the facade (SenseIndex.query)."""
        conditions = parse_conditions(where)
        marked, vector = self.embed_marked(text)
        if any_word:
            return self._nearest_any(vector, k, documents, nprobe, conditions)
        places, vectors = self._place_vectors(marked.word, documents, lemma, conditions)
        return self.ranked(places, vectors @ vector, vector, k)

    def ranked(self, places: Sequence[tuple[int, ...]], scores: np.ndarray, vector: np.ndarray, k: int) -> list[Hit]:
        """Hits of the k best-scored places, best first; scores equal to TIE_DECIMALS places tie, and ties keep the
        given order (corpus order, from `places`), not whichever rounding of a matrix product came out larger:
        that depended on each row's position in the product, so on how the index was built.

        Under a lossy code (rescore.rescores) the best CANDIDATES_PER_HIT * k places are scored again
        from their sentences, and the hits carry those exact cosines.
        """
        lossy = rescores(self.source.config.compression)
        top = _best_first(scores)[:k * CANDIDATES_PER_HIT if lossy else k]
        chosen, scores = [places[i] for i in top.tolist()], scores[top]
        if lossy and chosen:
            rows = self.rows.occurrences_by_id([i for place in chosen for i in place])
            chosen = [place for place in chosen if all(i in rows for i in place)]
            scores = exact_vectors(chosen, rows, self.encoder().encode) @ vector
            top = _best_first(scores)[:k]
            chosen, scores = [chosen[i] for i in top.tolist()], scores[top]
        return self.place_hits(chosen, scores.tolist())

    def _nearest_any(self, vector: np.ndarray, k: int, documents: Sequence[str] | None,
                     nprobe: int | None, where: Sequence[Condition] = ()) -> list[Hit]:
        snapshot = self.source.snapshot()
        vectors = snapshot.vectors
        if vectors.ntotal == 0:
            if snapshot.meta.counts()["occurrences"]:
                raise IndexCorruptError("the index has usages but its vectors file holds no vectors; "
                                        "run `sensesearch verify --repair`")
            raise WordNotFoundError(NO_USAGES_YET, any_word_helps=False)
        if documents or where:
            return self._nearest_in_documents(vector, k, documents, where)
        # Vectors whose rows are not committed (a writer mid-checkpoint, or a crash a reader must not
        # repair) yield no hit; ask for more until k hits are found or every vector has been seen. Also
        # while the last hit ties with the k-th: which of the tied ones FAISS returned followed the build.
        lossy = rescores(self.source.config.compression)
        # Never more than the index holds: FAISS allocates k results per query (k = 10**8 took 1.2 GB and 16 s).
        enough = min(k * CANDIDATES_PER_HIT if lossy else k, vectors.ntotal)
        wanted = enough
        while True:
            scores, ids = vectors.search(vector[None, :], wanted, nprobe=nprobe)
            keep = ids[0] >= 0
            hits = self.hits(ids[0][keep].tolist(), scores[0][keep].tolist())
            if wanted >= vectors.ntotal or (len(hits) >= enough and not _tied(hits[enough - 1], hits[-1])):
                break
            wanted = min(wanted * 4, vectors.ntotal)
        hits = self._ties_in_corpus_order(hits)
        if not lossy:
            return hits[:k]
        return self.ranked([(h.occurrence_id,) for h in hits], np.asarray([h.score for h in hits], dtype=np.float32),
                           vector, k)

    def _ties_in_corpus_order(self, hits: list[Hit]) -> list[Hit]:
        """`hits` best first with equal scores (to TIE_DECIMALS places) in corpus order, as `ranked` gives them:
        FAISS returns ties in its own order, which follows the order the vectors were added in. The documents
        are read only when some scores tie."""
        scores = np.round(np.asarray([h.score or 0.0 for h in hits], dtype=np.float64), TIE_DECIMALS)
        if len(np.unique(scores)) == len(hits):
            return hits
        rank = np.empty(len(hits), dtype=np.int64)
        rank[self.rows.corpus_order(np.asarray([h.occurrence_id for h in hits], dtype=np.int64))] = np.arange(len(hits))
        return [hits[i] for i in np.lexsort((rank, -scores)).tolist()]

    def _nearest_in_documents(self, vector: np.ndarray, k: int, documents: Sequence[str] | None,
                              where: Sequence[Condition] = ()) -> list[Hit]:
        chosen = self.rows.documents_where(where) if where else self.rows.all_documents()
        # In corpus order (documents by key, then text order), which `ranked` keeps among equal scores.
        ranges = [(d.first_occurrence, d.n_occurrences) for d in sorted(chosen, key=lambda d: d.key)
                  if not documents or d.key in documents]
        if not ranges:
            if not where:
                raise WordNotFoundError("none of the named documents is in the index", any_word_helps=False)
            # Why, as a search of one word says it: a field no document has is named with the fields there are.
            scope = describe_scope(documents, where, "" if chosen else self.rows.why_none_meet(where))
            raise WordNotFoundError(f"no usage of any word{scope}", any_word_helps=False)
        ids = np.concatenate([np.arange(first, first + n, dtype=np.int64) for first, n in ranges])
        vectors = self.source.snapshot().vectors
        ids = ids[vectors.contains(ids)]
        return self.ranked([(i,) for i in ids.tolist()], vectors.reconstruct(ids) @ vector, vector, k)

    def word_vectors(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
                     where: Sequence[Condition | str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Ids (int64, the first word's for a phrase) and unit vectors (float32, n x dim) of every usage.

        Under a lossy code (rescore.rescores) the vectors are exact, from the usages' sentences encoded again:
        senses, sense tags and evaluation read every vector, and PQ's own error moved their figures (CoarseWSD-20
        crane, seal and apple: centroid accuracy 84.4 from PQ codes, 93.1 exact; senses' ARI for crane 0.14
        against 0.39).
        """
        places, vectors = self._place_vectors(word, documents, lemma, parse_conditions(where))
        if rescores(self.source.config.compression) and places:
            log.info("encoding the %d usages of %r again: the index's pq codes are too coarse to compare usages",
                     len(places), word)
            rows = self.rows.occurrences_by_id([i for place in places for i in place])
            # As `ranked` does: a usage whose row went since its vector was read (removed meanwhile) is left out.
            places = [place for place in places if all(i in rows for i in place)]
            vectors = exact_vectors(places, rows, self.encoder().encode)
        return np.asarray([p[0] for p in places], dtype=np.int64), vectors

    def usages(self, word: str, limit: int | None = None, documents: Sequence[str] | None = None,
               lemma: bool = False, where: Sequence[Condition | str] = (), sort: str = "position") -> UsagePage:
        """Usages of a word or phrase (every form of its lemma with `lemma`, within `where`) in corpus order or
        sorted by context (kwicsort.usage_page), the first `limit` of them in that order, and how many there are."""
        places = self.places(word, documents, lemma, parse_conditions(where))
        return usage_page(len(places), lambda n: self.place_hits(places[:n]), sort, limit)

    def _place_vectors(self, word: str, documents: Sequence[str] | None, lemma: bool = False,
                       where: Sequence[Condition] = ()) -> tuple[list[tuple[int, ...]], np.ndarray]:
        """The usages of `word` and each one's unit vector (a phrase: its words' mean).

        Rows are read first and the vectors file re-read after them: rows are committed only after
        their vectors are saved, so a row without a vector is damage (IndexCorruptError), never an
        answer with usages silently left out. An index rebuilt in place is asked again.
        """
        read = self.source.snapshot(refresh=False)
        places = self.places(word, documents, lemma, where)
        snapshot = self.source.snapshot()
        if snapshot.meta is not read.meta:
            places = self.places(word, documents, lemma, where)
        stored = snapshot.vectors
        flat = np.asarray([i for place in places for i in place], dtype=np.int64)
        missing = int((~stored.contains(flat)).sum())
        if missing:
            raise IndexCorruptError(f"{missing} of the {len(flat)} usages of {word.strip()!r} have no vector: the "
                                    "vectors file does not match the metadata; run `sensesearch verify --repair`")
        width = max((len(p) for p in places), default=1)
        members = np.asarray(places, dtype=np.int64).reshape(len(places), width)
        if width == 1:
            return places, stored.reconstruct(members[:, 0])
        vectors = stored.reconstruct(members.reshape(-1)).reshape(len(places), width, -1).mean(axis=1)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return places, (vectors / norms).astype(np.float32)

    def place_hits(self, places: Sequence[tuple[int, ...]], scores: Sequence[float] | None = None) -> list[Hit]:
        """Hits of words or phrases; a phrase's hit spans its first word's start to its last word's end."""
        hits = self._row_hits([p[0] for p in places], scores)
        if all(len(p) == 1 for p in places):
            return hits
        last = self.rows.occurrences_by_id([p[-1] for p in places])
        end_of = {p[0]: last[p[-1]].end for p in places if p[-1] in last}
        return [replace(h, end=end_of[h.occurrence_id], word=h.sentence[h.start:end_of[h.occurrence_id]])
                for h in hits if h.occurrence_id in end_of]

    def hits(self, ids: Sequence[int], scores: Sequence[float] | None = None, word: str | None = None) -> list[Hit]:
        """Hits for occurrence ids, in the given order (ids without rows are left out).

        `word`: the word or phrase the ids are usages of (a phrase's first-word ids, as word_vectors
        gives them); a phrase's hits then span all its words, not only the first.
        """
        if word is None:
            return self._row_hits(ids, scores)
        try:
            by_first = {place[0]: place for place in self.places(word)}
        except WordNotFoundError:  # a form reached only through its lemma: one stored word each
            return self._row_hits(ids, scores)
        return self.place_hits([by_first.get(int(i), (int(i),)) for i in ids], scores)

    def _row_hits(self, ids: Sequence[int], scores: Sequence[float] | None = None) -> list[Hit]:
        rows = self.rows.occurrences_by_id(ids)
        hits = []
        for i, occurrence_id in enumerate(ids):
            row = rows.get(int(occurrence_id))
            if row is None:
                continue
            hits.append(Hit(occurrence_id=row.id, word=row.sentence_text[row.start:row.end], sentence=row.sentence_text,
                            start=row.start, end=row.end, document=row.document, sentence_id=row.sentence_id,
                            position=row.position, doc_start=row.sentence_start + row.start,
                            score=None if scores is None else reported_cosine(scores[i], 6), meta=row.meta,
                            path=row.path))
        return hits
