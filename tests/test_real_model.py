"""The bundled MiniLM: the classic recipe, long sentences, and the senses of "bank" coming apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensesearch import SenseIndex
from sensesearch.compare import compare
from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder

pytestmark = pytest.mark.slow

FINANCE = [
    "The bank raised its interest rates again this spring.",
    "She opened a savings account at the bank on Main Street.",
    "The bank refused to lend the farmers any more money.",
    "He deposited the cheque at the bank before noon.",
]
RIVER = [
    "We had a picnic on the grassy bank of the river.",
    "The canoe drifted toward the muddy bank and got stuck.",
    "Herons stood motionless on the far bank of the stream.",
    "Willows grew thickly along the bank of the canal.",
]


def test_vectors_follow_the_classic_recipe(minilm: TransformerEncoder) -> None:
    import torch

    sentence = "We sat on the river bank."
    ours = minilm.encode([sentence])[0]
    enc = minilm.tokenizer(sentence, return_tensors="pt")
    with torch.inference_mode():
        states = minilm.model(**enc, output_hidden_states=True).hidden_states
    summed = torch.stack(states[-4:]).sum(0)[0]
    bank_piece = minilm.tokenizer.convert_ids_to_tokens(enc["input_ids"][0]).index("bank")
    expected = torch.nn.functional.normalize(summed[bank_piece], dim=0).numpy()
    words = [sentence[s:e] for s, e in ours.spans.tolist()]
    assert words == ["We", "sat", "on", "the", "river", "bank", "."]
    assert float(ours.vectors[5] @ expected) == pytest.approx(1.0, abs=1e-5)


def test_word_pieces_are_mean_pooled_or_first(minilm: TransformerEncoder) -> None:
    sentence = "The unbelievably tall giraffes wandered."
    mean = minilm.encode([sentence])[0]
    first = TransformerEncoder(EncoderSettings(pooling="first")).encode([sentence])[0]
    assert len(mean.spans) == len(first.spans) == 6
    assert mean.n_pieces > 6
    giraffes = [sentence[s:e] for s, e in mean.spans.tolist()].index("giraffes")
    assert float(mean.vectors[giraffes] @ first.vectors[giraffes]) < 0.999
    assert float(mean.vectors[0] @ first.vectors[0]) == pytest.approx(1.0, abs=1e-5)


def test_long_sentence_is_windowed_not_truncated(minilm: TransformerEncoder) -> None:
    clause = "the farmers borrowed money from the bank near the river"
    long_sentence = " and ".join([clause] * 120) + "."
    encoded = minilm.encode([long_sentence])[0]
    assert encoded.n_pieces > 1000
    assert len(encoded.spans) == len(long_sentence.rstrip(".").split()) + 1
    assert np.allclose(np.linalg.norm(encoded.vectors, axis=1), 1.0, atol=1e-4)
    last_bank = encoded.vectors[-3]
    short = minilm.encode([clause + " and " + clause + "."])[0]
    assert float(last_bank @ short.vectors[-3]) > 0.8


def test_concat_layers_multiplies_dimension() -> None:
    encoder = TransformerEncoder(EncoderSettings(layers=(-2, -1), combine="concat"))
    assert encoder.dim == 768
    assert encoder.encode(["A bank."])[0].vectors.shape == (3, 768)


def test_compare_same_sense_beats_cross_sense(minilm: TransformerEncoder) -> None:
    result = compare(minilm, "bank", FINANCE + RIVER)
    sim = np.array(result.similarity)
    n = len(FINANCE)
    same = np.concatenate([sim[:n, :n][np.triu_indices(n, 1)], sim[n:, n:][np.triu_indices(n, 1)]])
    cross = sim[:n, n:].ravel()
    assert same.mean() > cross.mean() + 0.05
    assert same.min() > cross.mean()


def test_bank_senses_come_back_apart(tmp_path: Path, minilm: TransformerEncoder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "finance.txt").write_text(" ".join(FINANCE))
    (corpus / "river.txt").write_text(" ".join(RIVER))
    with SenseIndex.create(tmp_path / "idx", encoder=minilm) as index:
        index.add([corpus])
        river_hits = index.query("The otter slid down the [[bank]] into the river.", k=4)
        money_hits = index.query("I need to withdraw cash from the [[bank]].", k=4)
    assert {h.document for h in river_hits} == {str(corpus / "river.txt")}
    assert {h.document for h in money_hits} == {str(corpus / "finance.txt")}
