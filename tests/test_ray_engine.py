"""The Ray Data engine on a local 2-CPU Ray cluster: its builds equal local builds, crash and resume, errors.

Needs the extra sensesearch[ray]; skipped without it on a developer's machine, a failure in CI.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

if not os.environ.get("CI"):
    pytest.importorskip("ray")
import ray  # noqa: E402

from sensesearch import SenseIndex, SenseSearchError, ingest  # noqa: E402
from sensesearch.cli import app  # noqa: E402
from sensesearch.config import EncoderSettings  # noqa: E402
from sensesearch.ray_engine import RayChunkEncoder  # noqa: E402
from sensesearch.records import EncodedSentence  # noqa: E402

from .conftest import REPO  # noqa: E402
from .fake_encoder import FakeEncoder  # noqa: E402
from .snapshots import assert_same_index, snapshot, write_corpus  # noqa: E402


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """Two CPUs, like this machine; workers import this checkout (tests.fake_encoder included)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "HF_HUB_OFFLINE": "1"}})
    yield
    ray.shutdown()


def _fake_ray(settings: EncoderSettings, fingerprint: str | None = None, **options: object) -> RayChunkEncoder:
    fake = FakeEncoder(settings)
    return RayChunkEncoder(settings, fingerprint or fake.fingerprint, fake.dim, workers=2,
                           make_encoder=functools.partial(FakeEncoder, settings), **options)  # type: ignore[arg-type]


def test_ray_build_equals_local_build(tmp_path: Path, fake_settings: EncoderSettings, ray_cluster: None) -> None:
    corpus = write_corpus(tmp_path / "corpus", n_docs=6)
    # One chunk per wave and small batches: two Ray pipelines, several batches each, results reassembled in order.
    with SenseIndex.create(tmp_path / "ray", settings=fake_settings, compression="flat") as index, \
            _fake_ray(fake_settings, wave_chunks=1, batch_sentences=100) as engine:
        report = index.add([corpus], chunk_encoder=engine)
        by_ray = snapshot(index)
        stats = engine.worker_stats()
    assert 1 <= len(stats) <= 4 and sum(s.sentences for s in stats) == report.sentences  # 2 waves x 2 actors
    assert sum(s.pieces for s in stats) == report.word_pieces and all(s.seconds > 0 for s in stats)
    with SenseIndex.create(tmp_path / "local", settings=fake_settings, compression="flat") as index:
        local_report = index.add([corpus])
        local = snapshot(index)
    assert report.occurrences == local_report.occurrences == len(local.ids) > 0
    assert report.word_pieces == local_report.word_pieces
    assert assert_same_index(by_ray, local) < 1e-6


def test_ray_run_interrupted_then_resumed_equals_local_build(
        tmp_path: Path, fake_settings: EncoderSettings, ray_cluster: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MIN_CHECKPOINT_OCCURRENCES", 50)
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 512)
    # Chunks as long as 512 sentences, not capped by the small checkpoint size (four whole documents).
    monkeypatch.setattr(ingest, "CHARS_PER_OCCURRENCE", 10_000)
    corpus = write_corpus(tmp_path / "corpus", n_docs=6)

    def crash_after_first_chunk(chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        with _fake_ray(fake_settings, wave_chunks=2) as engine:
            for i, result in enumerate(engine(chunks)):
                if i == 1:
                    raise RuntimeError("driver died")
                yield result

    with pytest.raises(RuntimeError, match="driver died"), \
            SenseIndex.create(tmp_path / "ray", settings=fake_settings, compression="flat") as index:
        index.add([corpus], chunk_encoder=crash_after_first_chunk)
    with SenseIndex.open(tmp_path / "ray") as index, _fake_ray(fake_settings) as engine:
        assert index.info().documents == 4
        resumed = index.add([corpus], chunk_encoder=engine)
        assert resumed.documents_unchanged == 4 and resumed.documents_indexed == 2
        by_ray = snapshot(index)
    with SenseIndex.create(tmp_path / "local", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        local = snapshot(index)
    assert assert_same_index(by_ray, local) < 1e-6


def test_worker_with_other_weights_is_refused_and_nothing_is_written(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, ray_cluster: None) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index, \
            _fake_ray(fake_settings, fingerprint="other-weights") as engine:
        with pytest.raises(SenseSearchError, match="Ray worker loaded weights"):
            index.add([bank_corpus], chunk_encoder=engine)
        assert index.info().occurrences == 0 and index.vectors.ntotal == 0


@pytest.fixture
def pg_url_if_served(request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL test database where a server is configured (always in CI), else None for SQLite."""
    served = os.environ.get("SENSESEARCH_TEST_PG_URL") or os.environ.get("CI")
    return request.getfixturevalue("pg_url") if served else None


@pytest.mark.slow
def test_cli_ray_engine_into_postgres_with_minilm_equals_local_cli_build(tmp_path: Path, ray_cluster: None,
                                                                        pg_url_if_served: str | None) -> None:
    runner = CliRunner()
    corpus = str(REPO / "corpora" / "demo")
    db_args = ["--db", pg_url_if_served] if pg_url_if_served else []
    for name, extra in (("ray", ["--engine", "ray", "--workers", "2", *db_args]), ("local", [])):
        result = runner.invoke(app, ["index", corpus, "-i", str(tmp_path / name), "--compression", "flat", "-q",
                                     *extra])
        assert result.exit_code == 0, result.output
    with SenseIndex.open(tmp_path / "ray", read_only=True) as a, SenseIndex.open(tmp_path / "local",
                                                                                 read_only=True) as b:
        by_ray, local = snapshot(a), snapshot(b)
        assert (a.config.db_url or "").startswith("postgresql") == bool(pg_url_if_served)
    assert len(local.ids) > 400
    # Padding differs between batchings, so vectors agree to float tolerance, not bit for bit.
    assert assert_same_index(by_ray, local) < 1e-4
