"""Exact re-scoring under a lossy code (sensesearch.rescore): pq hits carry true cosines from their sentences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sensesearch import SenseIndex, codec
from sensesearch.config import EncoderSettings
from sensesearch.records import EncodedSentence
from sensesearch.rescore import exact_vectors
from sensesearch.schema import OccurrenceRow

from .fake_encoder import FastFakeEncoder
from .test_order_independence import ANY_WORD, QUERIES, write_corpus

SETTINGS = EncoderSettings(model="fake:order")


class CountingEncoder(FastFakeEncoder):
    """Counts the sentences it is asked to encode."""

    def __init__(self) -> None:
        super().__init__(SETTINGS)
        self.sentences = 0

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        self.sentences += len(sentences)
        return super().encode(sentences)


def built(folder: Path, files: list[Path], compression: str) -> None:
    SenseIndex.create(folder, settings=SETTINGS, compression=compression, encoder=FastFakeEncoder(SETTINGS)).close()
    with SenseIndex.open(folder, encoder=FastFakeEncoder(SETTINGS)) as index:
        index.add(files)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("rescore") / "corpus")


@pytest.fixture(scope="module")
def pq_index(tmp_path_factory: pytest.TempPathFactory, files: list[Path]) -> Path:
    """The corpus under 8-byte PQ codes (faiss trains the fake's 32 one-dimensional sub-vectors very slowly), built
    once: the tests only read it."""
    folder = tmp_path_factory.mktemp("rescore") / "pq"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(codec, "PQ_MAX_BYTES", 8)
        built(folder, files, "pq")
    return folder


def test_pq_hits_carry_the_exact_cosine_of_their_sentence(pq_index: Path) -> None:
    fresh = FastFakeEncoder(SETTINGS)
    with SenseIndex.open(pq_index, read_only=True, encoder=FastFakeEncoder(SETTINGS)) as index:
        assert index.info().index_type.endswith("PQ8")
        decoded_off = 0.0
        for text, any_word in [(q, False) for q in QUERIES] + [(q, True) for q in ANY_WORD]:
            _, vector = index.searcher.embed_marked(text)
            hits = index.query(text, k=5, any_word=any_word)
            assert len(hits) == 5
            for hit in hits:
                exact = float(fresh.encode([hit.sentence])[0].vectors[hit.position] @ vector)
                decoded = float(index.vectors.reconstruct(np.array([hit.occurrence_id]))[0] @ vector)
                assert hit.score == pytest.approx(exact, abs=1e-5)
                decoded_off = max(decoded_off, abs(decoded - exact))
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert decoded_off > 0.01  # the codes alone would have answered with other scores


def test_exact_codes_are_not_scored_again(tmp_path: Path, files: list[Path]) -> None:
    built(tmp_path / "sq8", files[:2], "sq8")
    counting = CountingEncoder()
    with SenseIndex.open(tmp_path / "sq8", read_only=True, encoder=counting) as index:
        index.query(QUERIES[0], k=5)
        index.query(ANY_WORD[0], k=5, any_word=True)
    assert counting.sentences == 2  # the two queries themselves


def test_a_phrase_is_the_unit_mean_of_its_words_fresh_vectors() -> None:
    encoder = FastFakeEncoder(SETTINGS)
    sentence = "The interest rate rose again."
    encoded = encoder.encode([sentence])[0]
    rows = {7 + i: OccurrenceRow(id=7 + i, form="", position=i, start=int(s), end=int(e), sentence_id=3,
                                 sentence_start=0, sentence_text=sentence, document="d", meta={})
            for i, (s, e) in enumerate(encoded.spans.tolist())}
    got = exact_vectors([(8, 9), (7,)], rows, encoder.encode)
    mean = encoded.vectors[1] + encoded.vectors[2]
    assert np.allclose(got[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert np.allclose(got[1], encoded.vectors[0], atol=1e-6)


def test_senses_tags_and_evaluation_read_exact_vectors_from_a_pq_index(tmp_path: Path, files: list[Path],
                                                                       pq_index: Path) -> None:
    """word_vectors (what senses, sense tags, sense examples and eval read) gave PQ's decoded codes: CoarseWSD-20
    centroid accuracy fell from 93.1 to 84.4 on a pq index, senses' ARI for crane from 0.39 to 0.14, silently."""
    built(tmp_path / "flat", files, "flat")
    with SenseIndex.open(pq_index, read_only=True, encoder=FastFakeEncoder(SETTINGS)) as pq, \
            SenseIndex.open(tmp_path / "flat", read_only=True, encoder=FastFakeEncoder(SETTINGS)) as flat:
        for word in ("bank", "spring", "bat"):
            pq_ids, pq_vectors = pq.word_vectors(word)
            flat_ids, flat_vectors = flat.word_vectors(word)
            assert pq_ids.tolist() == flat_ids.tolist() and len(pq_ids) > 100
            assert np.allclose(pq_vectors, flat_vectors, atol=1e-5), word
            assert np.abs(pq.vectors.reconstruct(pq_ids) - flat_vectors).max() > 0.01  # what had been read
        assert pq.senses("bank", seed=1).to_dict()["senses"] == flat.senses("bank", seed=1).to_dict()["senses"]


def test_exact_vectors_encode_a_bounded_number_of_sentences_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import rescore

    encoder = CountingEncoder()
    calls: list[int] = []

    def encode(texts: Sequence[str]) -> list[EncodedSentence]:
        calls.append(len(texts))
        return encoder.encode(texts)

    sentences = [f"The bank w{i} rose by the interest rate." for i in range(7)]
    rows = {}
    for s, sentence in enumerate(sentences):
        encoded = encoder.encode([sentence])[0]
        for i, (a, b) in enumerate(encoded.spans.tolist()):
            rows[100 * s + i] = OccurrenceRow(id=100 * s + i, form="", position=i, start=a, end=b, sentence_id=s,
                                              sentence_start=0, sentence_text=sentence, document="d", meta={})
    places = [(100 * s + 1,) for s in range(7)] + [(100 * s + 5, 100 * s + 6) for s in range(7)]
    whole = exact_vectors(places, rows, encoder.encode)
    monkeypatch.setattr(rescore, "ENCODE_SENTENCES", 3)
    chunked = exact_vectors(sorted(places), rows, encode)
    assert max(calls) <= 3 and sum(calls) == 7
    assert np.allclose(chunked, whole[np.argsort([p[0] for p in places], kind="stable")], atol=1e-6)
