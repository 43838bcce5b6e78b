"""Exact re-scoring under a lossy code: the best candidates' sentences are encoded again and scored exactly.

A product-quantized index (`compression="pq"`) stores 32-byte codes whose own error is larger than
the differences that rank usages: on 60,000 MiniLM vectors, PQ32's top 10 shares 0.46 of the exact
top 10, and two indexes of the same vectors whose codebooks saw different training samples (as
indexing the files in another order does) share only 0.42-0.48 of their top 10, with scores 0.05-0.07
apart. The codes are good at finding candidates, though: the exact top 10 is 0.97-0.98 inside PQ's
top 200. So the search takes CANDIDATES_PER_HIT candidates per wanted hit from the codes and scores
them by their true cosine, from the sentences the metadata store holds, with the model the index was
built with (as FAISS's "refine" step does with stored vectors, here without storing them). Scores are
then exact and the answer no longer depends on how the codebooks were trained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .errors import ConfigMismatchError
from .foldchanges import REINDEX, StoredWord, rules_cutting
from .normalize import same_word_span
from .records import EncodedSentence
from .schema import OccurrenceRow

CANDIDATES_PER_HIT = 20
"""Measured (see the module docstring): 10 per hit finds 0.91-0.94 of the exact top 10, 20 finds 0.97-0.98."""
LOSSY_CODES = frozenset({"pq"})
"""Codes whose error exceeds 0.01 in cosine; sq8 (about 0.005) and the exact codes are not re-scored."""

ENCODE_SENTENCES = 1024
"""Sentences encoded at once by exact_vectors: a chunk's word vectors (some 25 words a sentence) are held together."""

Encode = Callable[[Sequence[str]], list[EncodedSentence]]


def rescores(compression: str) -> bool:
    """Whether searches over an index with this compression re-score their candidates exactly."""
    return compression in LOSSY_CODES


def stored_row_vector(encoded: EncodedSentence, position: int, word: StoredWord, occurrence_id: int,
                      sentence_id: int) -> np.ndarray:
    """The encoder's vector for a stored occurrence, `word` of its sentence: its `position` row, checked to cover the
    stored span (but for ignorables at its edges: normalize.same_word_span).

    ConfigMismatchError when the encoder finds another word there (the model or tokenizer changed, or, where an older
    rule of `fold` cut the stored word, sensesearch's word rules did: foldchanges.rules_cutting; its symbol, cluster,
    superscript and white space changes had been called a changed model).
    """
    if position >= len(encoded.spans) or not same_word_span(word.text, tuple(encoded.spans[position].tolist()),
                                                             (word.start, word.end)):
        rules = rules_cutting(word)
        if rules:
            raise ConfigMismatchError(f"the stored word {word.written!r} was cut by older word rules: "
                                      f"{'; '.join(rules)}; {REINDEX}")
        raise ConfigMismatchError(
            f"the model no longer finds occurrence {occurrence_id} at characters {word.start}-{word.end} of "
            f"sentence {sentence_id}; the model or its tokenizer changed, so the corpus must be indexed anew")
    return encoded.vectors[position]


def exact_vectors(places: Sequence[tuple[int, ...]], rows: Mapping[int, OccurrenceRow], encode: Encode) -> np.ndarray:
    """Unit vectors (float32, len(places) x dim) of usages, from their sentences encoded again.

    A place is one occurrence id, or the ids of a phrase's words (its vector is their unit mean, as
    the search computes it from stored vectors). Every id must have a row in `rows`. Sentences are
    encoded ENCODE_SENTENCES at a time, so every usage of a frequent word needs no more memory than that.
    """
    vectors: list[np.ndarray] = []
    first = 0
    while first < len(places):
        sentence_of: dict[int, int] = {}
        texts: list[str] = []
        last = first
        while last < len(places) and (len(texts) < ENCODE_SENTENCES or rows[places[last][0]].sentence_id in sentence_of):
            for occurrence_id in places[last]:
                row = rows[occurrence_id]
                if row.sentence_id not in sentence_of:
                    sentence_of[row.sentence_id] = len(texts)
                    texts.append(row.sentence_text)
            last += 1
        encoded = encode(texts)
        for place in places[first:last]:
            words = [stored_row_vector(encoded[sentence_of[rows[i].sentence_id]], rows[i].position,
                                       StoredWord(rows[i].sentence_text, rows[i].start, rows[i].end, rows[i].form), i,
                                       rows[i].sentence_id) for i in place]
            mean = np.mean(words, axis=0)
            vectors.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        first = last
    return np.asarray(vectors, dtype=np.float32).reshape(len(places), -1)
