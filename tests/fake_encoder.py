"""A deterministic stand-in for the transformer: context-sensitive vectors from hashed words, no torch."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import regex

from sensesearch.config import EncoderSettings
from sensesearch.normalize import fold, word_key
from sensesearch.records import EncodedSentence

# Like BERT's pre-tokenizer: each CJK ideograph is a word, runs of letters, marks and digits are words,
# every other non-space character is a word of its own.
_WORD = regex.compile(r"\p{Han}|(?:(?!\p{Han})[\p{L}\p{M}\p{N}_])+|[^\s\p{L}\p{M}\p{N}_]")
DIM = 32


def word_vector(form: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(word_key(form).encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class FakeEncoder:
    """Each word's vector is its own hashed vector plus the mean of its neighbours' (window of 4).

    Same word in similar contexts gives similar vectors, so sense tests work without a model.
    It counts calls and sentences, so tests can check batching and caching.
    """

    def __init__(self, settings: EncoderSettings | None = None, context_weight: float = 0.8) -> None:
        self.settings = settings or EncoderSettings(model="fake:test")
        self.dim = DIM
        self.fingerprint = "fake-" + str(context_weight)
        self.context_weight = context_weight
        self.calls = 0
        self.sentences_seen = 0
        self.runs_on_host = True  # tests set False to take ingest's read-ahead path, as a GPU encoder does

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        self.calls += 1
        self.sentences_seen += len(sentences)
        results = []
        for sentence in sentences:
            # The same Unicode folding and offset map as the real encoder, so stored keys agree.
            folded = fold(sentence)
            matches = list(_WORD.finditer(folded.text))
            spans = folded.spans(np.array([(m.start(), m.end()) for m in matches], dtype=np.int32).reshape(-1, 2))
            own = [word_vector(m.group()) for m in matches]
            vectors = np.zeros((len(matches), DIM), dtype=np.float32)
            for i in range(len(matches)):
                context = [own[j] for j in range(max(0, i - 4), min(len(matches), i + 5)) if j != i]
                v = own[i] + (self.context_weight * np.mean(context, axis=0) if context else 0)
                vectors[i] = v / np.linalg.norm(v)
            results.append(EncodedSentence(spans=spans, vectors=vectors, n_pieces=len(matches)))
        return results


class FastFakeEncoder(FakeEncoder):
    """The same recipe (own vector plus 0.8 x mean of up to 4 neighbours each side), vectorised."""

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        super().__init__(settings)
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        results = []
        for sentence in sentences:
            folded = fold(sentence)  # as the real encoder does, so stored keys and offsets agree
            matches = list(_WORD.finditer(folded.text))
            spans = folded.spans(np.array([(m.start(), m.end()) for m in matches], dtype=np.int32).reshape(-1, 2))
            own = np.zeros((len(matches), DIM), dtype=np.float32)
            for i, m in enumerate(matches):
                form = m.group()
                if form not in self.cache:
                    self.cache[form] = word_vector(form)
                own[i] = self.cache[form]
            sums = np.vstack([np.zeros((1, DIM), dtype=np.float32), np.cumsum(own, axis=0)])
            rows = np.arange(len(matches))
            low, high = np.maximum(rows - 4, 0), np.minimum(rows + 5, len(matches))
            counts = (high - low - 1).astype(np.float32)[:, None]
            context = (sums[high] - sums[low] - own) / np.maximum(counts, 1)
            vectors = own + self.context_weight * context
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            results.append(EncodedSentence(spans=spans, vectors=vectors.astype(np.float32), n_pieces=len(matches)))
        return results
