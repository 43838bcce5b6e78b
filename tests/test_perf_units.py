"""Speed and size machinery: index layout by size, IVF rebuild, fast sentence offsets, bulk inserts, precision."""

from __future__ import annotations

from pathlib import Path

import blingfire
import faiss
import numpy as np
import pytest
from sqlalchemy import create_engine, select

from sensesearch import SenseIndex
from sensesearch import codec as codec_module
from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.errors import ConfigMismatchError, IndexCorruptError
from sensesearch.segment import sentence_offsets
from sensesearch.schema import executemany_rows, metadata, occurrences
from sensesearch.codec import choose_index_factory, default_nprobe, ivf_lists, pq_subquantizers
from sensesearch.vectors import VectorStore


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((20, dim)).astype(np.float32)
    x = centers[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_choose_index_factory_by_size() -> None:
    assert choose_index_factory(10, 384) == "SQ8"
    assert choose_index_factory(99_999, 384, "flat") == "Flat"
    assert choose_index_factory(50_000, 384, "pq") == "PQ32"
    assert choose_index_factory(100_000, 384) == "IVF1265,SQ8"
    assert choose_index_factory(2_000_000, 384, "pq") == "IVF5657,PQ32"
    assert choose_index_factory(2_000_000, 384, "fp16") == "IVF5657,SQfp16"
    with pytest.raises(ValueError):
        choose_index_factory(10, 384, "zip")
    assert pq_subquantizers(384) == 32 and pq_subquantizers(100) == 25
    assert ivf_lists(1_000_000) == 4000 and default_nprobe(4000) == 60 and default_nprobe(100) == 8


@pytest.mark.parametrize("compression", ["sq8", "flat", "pq"])
def test_rebuild_as_ivf_keeps_ids_and_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              compression: str) -> None:
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 1500)
    # PQ with one-dimensional sub-vectors trains very slowly; 6 dimensions each keeps the test quick.
    monkeypatch.setattr(codec_module, "PQ_MAX_BYTES", 8)
    dim, n = 48, 3000
    x = unit_vectors(n, dim)
    ids = np.arange(10, 10 + n, dtype=np.int64)
    store = VectorStore.create(dim, compression)
    store.add(ids[:1200], x[:1200])
    assert not store.needs_rebuild(compression)
    store.add(ids[1200:], x[1200:])
    assert store.needs_rebuild(compression)
    grown = store.rebuilt(compression)
    assert grown.ivf is not None and grown.describe().startswith(f"IVF{ivf_lists(n)},")
    assert not grown.needs_rebuild(compression)
    assert np.array_equal(grown.sorted_ids(), ids)
    before = store.reconstruct(ids[[0, 1500, n - 1]])
    assert np.allclose(grown.reconstruct(ids[[0, 1500, n - 1]]), before, atol=0.1 if compression == "pq" else 0.02)
    grown.save(tmp_path / "v.faiss")
    loaded = VectorStore.load(tmp_path / "v.faiss")
    assert loaded.ivf is not None and loaded.ivf.nprobe == default_nprobe(ivf_lists(n))
    assert loaded.remove_range(10, 110) == 100
    assert loaded.remove(np.array([200, 201, 5], dtype=np.int64)) == 2
    assert loaded.ntotal == n - 102 and not loaded.contains(np.array([50, 200, 5])).any()
    with pytest.raises(IndexCorruptError):
        loaded.reconstruct(np.array([50], dtype=np.int64))
    _, found = loaded.search(x[2000:2001], 10, nprobe=loaded.ivf.nlist)
    assert found[0, 0] == ids[2000] if compression != "pq" else ids[2000] in found[0]


def test_index_switches_to_ivf_as_it_grows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           fake_settings: EncoderSettings) -> None:
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 300)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    words = "river bank money loan water stream house field market trade".split()
    (corpus / "a.txt").write_text("\n\n".join(
        " ".join(words[(i * 7 + j) % len(words)] for j in range(12)) + "." for i in range(40)))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        assert index.vectors.ivf is not None
        hits = index.query("money in the [[bank]]", k=3)
        assert [h.word for h in hits] == ["bank"] * 3
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().index_type.startswith("IVF")
        assert len(index.query("money in the [[bank]]", k=3, any_word=True, nprobe=4)) == 3
        assert index.info().occurrences == index.vectors.ntotal


def test_sentence_offsets_match_bling_fire() -> None:
    texts = ["Café déjà vu. Ünïcödé 😀 works! Ça va? 日本語の文。次の文。", "no punctuation at all",
             "  lead space. x", "Mr. Smith went to Washington. He said “hi” there.\nA new line here"]
    for text in texts:
        _, expected = blingfire.text_to_sentences_and_offsets(text)
        assert sentence_offsets(text) == [tuple(span) for span in expected]


def test_executemany_rows_in_any_column_order() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        executemany_rows(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"),
                    [(1, 2, 3, 4, 5, 6)])
        executemany_rows(conn, occurrences, ("end", "start", "position", "word_id", "sentence_id", "id"),
                    [(60, 50, 40, 30, 20, 10)])
        executemany_rows(conn, occurrences, ("id",), [])
        rows = conn.execute(select(occurrences).order_by(occurrences.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, 2, 3, 4, 5, 6), (10, 20, 30, 40, 50, 60)]


def test_precision_is_a_checked_setting() -> None:
    config = IndexConfig(encoder=EncoderSettings(precision="int8"))
    assert IndexConfig.from_json(config.to_json()).encoder.precision == "int8"
    legacy = config.to_json().replace('"precision": "int8",', "")
    assert IndexConfig.from_json(legacy).encoder.precision == "float32"
    with pytest.raises(ConfigMismatchError):
        EncoderSettings(precision="bfloat16")


@pytest.mark.slow
def test_int8_encoder_stays_close_to_float32(minilm) -> None:
    from sensesearch.encoder import TransformerEncoder

    int8 = TransformerEncoder(EncoderSettings(precision="int8"))
    assert int8.fingerprint == minilm.fingerprint
    sentences = ["The bank raised its interest rates.", "We sat on the grassy bank of the river."]
    exact = np.concatenate([e.vectors for e in minilm.encode(sentences)])
    quick = np.concatenate([e.vectors for e in int8.encode(sentences)])
    cosines = (exact * quick).sum(axis=1)
    assert cosines.min() > 0.9
    assert "quantized" in type(int8.model.encoder.layer[0].intermediate.dense).__module__


def test_cli_precision_is_stored_and_checked(tmp_path: Path, bank_corpus: Path) -> None:
    from typer.testing import CliRunner

    from sensesearch.cli import app

    runner = CliRunner()
    target = str(tmp_path / "idx")
    made = runner.invoke(app, ["index", str(bank_corpus), "--index", target, "--model", "fake:x",
                               "--precision", "int8", "--quiet"])
    assert made.exit_code == 0, made.output
    assert IndexConfig.load(tmp_path / "idx").encoder.precision == "int8"
    clash = runner.invoke(app, ["index", str(bank_corpus), "--index", target, "--precision", "float32", "--quiet"])
    assert clash.exit_code == 1 and "precision" in clash.output
    wrong = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "other"), "--model", "fake:x",
                                "--precision", "fp8", "--quiet"])
    assert wrong.exit_code == 2 and "'fp8' is not one of" in wrong.output
    off_cuda = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "other"), "--model", "fake:x",
                                   "--precision", "bf16", "--device", "cpu", "--quiet"])
    assert off_cuda.exit_code == 2 and "precision bf16 needs a CUDA device" in off_cuda.output
    assert not (tmp_path / "other").exists()
