"""The Encoder contract (encoder.Encoder), checked on the output of encoders from outside this package.

sensesearch's own encoders (PlannedEncoder and its backends) are tested against it; an encoder a user or a plugin
brings is not, and its output went into the index unchecked: NaN vectors scored -1.0 and broke clustering,
vectors of norm 5 scored 1.0 for every hit, vectors of another width failed inside FAISS with a bare
AssertionError, and spans outside their sentence were dropped without a word. CheckedEncoder refuses such output
with EncoderOutputError before anything is stored or scored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .encoder import Encoder, PlannedEncoder
from .errors import EncoderOutputError
from .records import EncodedSentence

NORM_TOLERANCE = 1e-3
"""How far a vector's L2 norm may be from 1: float32 normalisation is exact to about 1e-7, and a vector stored half
precision to about 1e-3; anything further was not normalised."""


def check_encoded(texts: Sequence[str], encoded: Sequence[EncodedSentence], dim: int) -> None:
    """EncoderOutputError unless `encoded` holds one EncodedSentence per text, each with (n, 2) integer spans that
    lie inside its text in text order (by start), and (n, dim) finite vectors of unit length."""
    if len(encoded) != len(texts):
        raise EncoderOutputError(f"the encoder returned {len(encoded)} results for {len(texts)} sentences")
    for i, (text, sentence) in enumerate(zip(texts, encoded)):
        spans = np.asarray(sentence.spans)
        vectors = np.asarray(sentence.vectors)
        where = f"sentence {i} ({text[:40]!r})"
        if spans.size == 0 and vectors.size == 0:
            continue
        if spans.ndim != 2 or spans.shape[1] != 2 or not np.issubdtype(spans.dtype, np.integer):
            raise EncoderOutputError(f"{where}: spans must be an (n, 2) integer array, got {spans.dtype} {spans.shape}")
        if vectors.shape != (len(spans), dim):
            raise EncoderOutputError(f"{where}: {len(spans)} spans need vectors of shape ({len(spans)}, {dim}), "
                                     f"got {vectors.shape}")
        starts, ends = spans[:, 0], spans[:, 1]
        if (starts < 0).any() or (ends > len(text)).any() or (starts >= ends).any():
            raise EncoderOutputError(f"{where}: a span lies outside the sentence's {len(text)} characters or is empty")
        if (starts[1:] < starts[:-1]).any():
            raise EncoderOutputError(f"{where}: spans are out of text order")
        if not np.isfinite(vectors).all():
            raise EncoderOutputError(f"{where}: a vector holds NaN or infinity")
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
        if (np.abs(norms - 1) > NORM_TOLERANCE).any():
            worst = norms[np.argmax(np.abs(norms - 1))]
            raise EncoderOutputError(f"{where}: vectors must have unit length (L2), one has {worst:.4g}")


class CheckedEncoder:
    """An encoder whose every `encode` result passes check_encoded; everything else is the wrapped encoder's."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        encoded = self.inner.encode(sentences)
        check_encoded(sentences, encoded, self.inner.dim)
        return encoded

    def encode_stream(self, chunks: Iterable[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        """The wrapped encoder's own `encode_stream` (encoder.encode_chunks), each chunk's result checked against the
        chunk's texts; chunk by chunk through `encode` for an encoder without one."""
        stream = getattr(self.inner, "encode_stream", None)
        if stream is None:
            yield from (self.encode(texts) for texts in chunks)
            return
        given: deque[Sequence[str]] = deque()  # a stream may read chunks ahead of the results it hands back

        def remembered() -> Iterator[Sequence[str]]:
            for texts in chunks:
                given.append(texts)
                yield texts

        for encoded in stream(remembered()):
            check_encoded(given.popleft(), encoded, self.inner.dim)
            yield encoded

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def checked(encoder: Encoder) -> Encoder:
    """`encoder` itself if it is one of sensesearch's own (or already checked), else a CheckedEncoder around it."""
    return encoder if isinstance(encoder, (PlannedEncoder, CheckedEncoder)) else CheckedEncoder(encoder)
