"""The codec life cycle (issue 10 items 2, 4, 5): exact codes until enough vectors, a degenerate codec caught
by verify and repaired from the stored sentences, the IVF rebuild's settings, one pass per removal."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from sensesearch import ConfigMismatchError, SenseIndex, codec
from sensesearch.config import EncoderSettings
from sensesearch.verify import verify_index
from sensesearch.vectors import VectorStore

from .conftest import BANK_CORPUS
from .fake_encoder import FakeEncoder

QUERY = "We sat on the grassy [[bank]] of the river."


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def two_files(tmp_path: Path) -> tuple[Path, Path]:
    hello = tmp_path / "hello.txt"
    hello.write_text("Hello.\n")
    bank = tmp_path / "bank.txt"
    bank.write_text(BANK_CORPUS * 3)
    return hello, bank


def top(folder: Path) -> list[tuple[str, int, float]]:
    with SenseIndex.open(folder, read_only=True) as index:
        return [(h.document, h.doc_start, float(h.score or 0)) for h in index.query(QUERY, k=6)]


def test_store_keeps_exact_codes_until_it_can_train(tmp_path: Path) -> None:
    store = VectorStore.create(32, "sq8")
    x = unit_vectors(codec.SQ8_MIN_TRAINING + 10, 32)
    store.add(np.arange(1, 2), x[:1])
    store.save(tmp_path / "v.faiss")
    assert store.interim and "SQfp16" in store.describe()
    assert np.allclose(store.reconstruct(np.array([1])), x[:1], atol=1e-3)
    store.add(np.arange(2, len(x) + 1), x[1:])
    store.save(tmp_path / "v.faiss")
    loaded = VectorStore.load(tmp_path / "v.faiss", "sq8")
    assert not loaded.interim and loaded.describe() == "IDMap2,SQ8"
    assert loaded.codec_problem() is None
    assert np.allclose(loaded.reconstruct(np.arange(1, 101)), x[:100], atol=0.02)


def test_codec_problem_finds_sq8_trained_on_a_few_vectors() -> None:
    x = unit_vectors(3000, 32)
    for trained_on, bad in ((1, True), (9, True), (3000, False)):
        code = codec.exhaustive_code(32, "sq8", trained=True)
        code.train(x[:trained_on])
        store = VectorStore(faiss.IndexIDMap2(code), "sq8")
        store.add(np.arange(len(x)), x)
        assert (store.codec_problem() is not None) == bad, trained_on


def test_verify_catches_a_degenerate_codec_and_repair_reencodes(tmp_path: Path, fake_settings: EncoderSettings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hello, bank = two_files(tmp_path)
    with SenseIndex.create(tmp_path / "one", settings=fake_settings) as index:
        index.add([hello, bank])
    # The old behaviour: SQ8 trained on the first batch, one vector.
    with monkeypatch.context() as old:
        old.setattr(codec, "SQ8_MIN_TRAINING", 1)
        with SenseIndex.create(tmp_path / "runs", settings=fake_settings) as index:
            index.add([hello])
        with SenseIndex.open(tmp_path / "runs") as index:
            index.add([bank])
    broken = top(tmp_path / "runs")
    assert max(s for *_, s in broken) - min(s for *_, s in broken) < 0.01
    report = verify_index(tmp_path / "runs")
    assert not report.sound and [p.kind for p in report.problems] == ["codec"]
    assert "cannot tell usages apart" in report.problems[0].detail and "\n" not in report.problems[0].detail
    repaired = verify_index(tmp_path / "runs", repair=True)
    assert repaired.sound and any("re-encoded" in action for action in repaired.repaired)
    assert [h[:2] for h in top(tmp_path / "runs")] == [h[:2] for h in top(tmp_path / "one")]
    assert np.allclose([h[2] for h in top(tmp_path / "runs")], [h[2] for h in top(tmp_path / "one")], atol=0.01)


def test_reindex_rebuilds_vectors_from_the_stored_sentences(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    hello, bank = two_files(tmp_path)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([hello, bank])
        before = top(tmp_path / "idx")
        hello.unlink()
        bank.unlink()
        assert index.reindex() == index.info().occurrences
    assert top(tmp_path / "idx") == before
    with pytest.raises(ConfigMismatchError, match="fingerprint"):
        SenseIndex.open(tmp_path / "idx", encoder=FakeEncoder(fake_settings, context_weight=0.1))
    with pytest.raises(ConfigMismatchError, match="pooling"):
        SenseIndex.open(tmp_path / "idx", encoder=FakeEncoder(EncoderSettings(model="fake:test", pooling="first")))


@pytest.mark.parametrize("compression", ["sq8", "pq"])
def test_ivf_rebuild_applies_its_settings(monkeypatch: pytest.MonkeyPatch, compression: str) -> None:
    monkeypatch.setattr(codec, "IVF_THRESHOLD", 500)
    monkeypatch.setattr(codec, "PQ_MIN_TRAINING", 256)
    monkeypatch.setattr(codec, "PQ_MAX_BYTES", 4)
    store = VectorStore.create(16, compression)
    store.add(np.arange(2000), unit_vectors(2000, 16))
    ivf = faiss.downcast_index(store.rebuilt().index)
    if compression == "sq8":
        assert ivf.sq.rangestat == faiss.ScalarQuantizer.RS_minmax
        assert abs(ivf.sq.rangestat_arg - codec.SQ_RANGE_MARGIN) < 1e-6
    else:
        assert isinstance(ivf, faiss.IndexIVFPQ) and not ivf.do_polysemous_training


def test_removing_many_documents_is_one_pass(tmp_path: Path, fake_settings: EncoderSettings,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(6):
        (corpus / f"d{i}.txt").write_text(BANK_CORPUS)
    passes = []
    original = VectorStore._drop
    monkeypatch.setattr(VectorStore, "_drop", lambda self, selector: passes.append(1) or original(self, selector))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        passes.clear()
        assert len(index.remove([str(corpus / f"d{i}.txt") for i in range(5)])) == 5
        assert len(passes) == 1 and index.vectors.ntotal == index.info().occurrences > 0


@pytest.mark.slow
def test_cli_hello_then_demo_answers_like_one_run(tmp_path: Path) -> None:
    """Issue 10's example through the CLI, default settings and the real model."""
    import json

    from typer.testing import CliRunner

    from sensesearch.cli import app

    from .conftest import REPO

    hello = tmp_path / "hello.txt"
    hello.write_text("Hello.\n")
    demo = REPO / "corpora" / "demo"
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0 and result.exception is None, result.output
        return result.output

    run("index", str(hello), "--index", str(tmp_path / "runs"), "--quiet")
    run("index", str(demo), "--index", str(tmp_path / "runs"), "--quiet")
    run("index", str(hello), str(demo), "--index", str(tmp_path / "one"), "--quiet")
    answers = {name: json.loads(run("query", QUERY, "--index", str(tmp_path / name), "-k", "6", "--json"))
               for name in ("runs", "one")}
    keys = {name: [(h["document"], h["doc_start"]) for h in hits] for name, hits in answers.items()}
    assert keys["runs"] == keys["one"]
    assert np.allclose([h["score"] for h in answers["runs"]], [h["score"] for h in answers["one"]], atol=0.01)
    assert answers["runs"][0]["score"] > 0.9 and "river" in answers["runs"][0]["sentence"]
    assert "sound" in run("verify", "--index", str(tmp_path / "runs"))
