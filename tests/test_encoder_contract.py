"""An encoder brought from outside (the Encoder protocol) has its output checked before anything is stored or scored."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from sensesearch import EncoderOutputError, SenseIndex
from sensesearch.contract import CheckedEncoder, checked
from sensesearch.records import EncodedSentence

from .fake_encoder import FakeEncoder


class Broken(FakeEncoder):
    """The fake encoder with its output spoilt by `spoil` (spans, vectors) -> (spans, vectors)."""

    def __init__(self, spoil: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__()
        self.spoil = spoil

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        return [EncodedSentence(*self.spoil(e.spans.copy(), e.vectors.copy()), n_pieces=e.n_pieces)
                for e in super().encode(sentences)]


def _nan(spans: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors[0] = np.nan
    return spans, vectors


def _beyond(spans: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spans[-1] = (spans[-1, 1] + 50, spans[-1, 1] + 54)
    return spans, vectors


SPOILT = {
    "NaN": (_nan, "NaN or infinity"),
    "not unit length": (lambda s, v: (s, v * 5), "unit length"),
    "all zero": (lambda s, v: (s, v * 0), "unit length"),
    "another width": (lambda s, v: (s, np.full((len(v), 35), 1 / np.sqrt(35), dtype=np.float32)), r"shape \(\d+, 32\)"),
    "fewer vectors than spans": (lambda s, v: (s, v[:-1]), "need vectors of shape"),
    "span outside the sentence": (_beyond, "outside the sentence"),
    "spans out of order": (lambda s, v: (s[::-1].copy(), v[::-1].copy()), "out of text order"),
}


@pytest.mark.parametrize("name", list(SPOILT))
def test_add_and_query_refuse_output_that_breaks_the_contract_and_store_nothing(tmp_path: Path, name: str) -> None:
    spoil, message = SPOILT[name]
    (tmp_path / "a.txt").write_text("The bank raised its rates. We sat on the river bank.\n")
    with SenseIndex.create(tmp_path / "good", encoder=FakeEncoder()) as index:
        index.add([tmp_path / "a.txt"])
    with SenseIndex.create(tmp_path / "idx", encoder=Broken(spoil)) as index:
        with pytest.raises(EncoderOutputError, match=message):
            index.add([tmp_path / "a.txt"])
        assert index.info().occurrences == 0 and index.vectors.ntotal == 0
    with SenseIndex.open(tmp_path / "good", encoder=Broken(spoil)) as index, \
            pytest.raises(EncoderOutputError, match=message):
        index.query("The [[bank]] raised its rates.")


def test_a_sound_encoder_passes_and_sensesearchs_own_are_not_wrapped(tmp_path: Path) -> None:
    fake = FakeEncoder()
    wrapped = checked(fake)
    assert isinstance(wrapped, CheckedEncoder) and checked(wrapped) is wrapped and wrapped.dim == fake.dim
    assert [len(result) for result in wrapped.encode_stream([["The bank."], ["A", "B c."]])] == [1, 2]
    (tmp_path / "a.txt").write_text("The bank raised its rates. We sat on the river bank.\n")
    with SenseIndex.create(tmp_path / "idx", encoder=fake) as index:
        assert index.add([tmp_path / "a.txt"]).occurrences == 11
        assert index.query("The [[bank]] raised its rates.")[0].score == pytest.approx(1.0, abs=1e-3)


def test_an_encoders_own_stream_is_checked_chunk_by_chunk(tmp_path: Path) -> None:
    class Streaming(FakeEncoder):
        def encode_stream(self, chunks: Iterable[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
            for texts in chunks:
                yield [EncodedSentence(e.spans, e.vectors * 5, e.n_pieces) for e in self.encode(texts)]

    (tmp_path / "a.txt").write_text("The bank raised its rates. We sat on the river bank.\n")
    with SenseIndex.create(tmp_path / "idx", encoder=Streaming()) as index:
        with pytest.raises(EncoderOutputError, match="unit length"):
            index.add([tmp_path / "a.txt"])
        assert index.info().occurrences == 0
