"""The Ray Data engine on a local 2-CPU Ray cluster: its builds equal local builds, crash and resume, errors.

Needs the extra sensesearch[ray]; skipped without it on a developer's machine, a failure in CI.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

if not os.environ.get("CI"):
    pytest.importorskip("ray")
import ray  # noqa: E402

from sensesearch import SenseIndex, SenseSearchError, ingest, ray_engine  # noqa: E402
from sensesearch import encoder as encoder_module  # noqa: E402
from sensesearch import engines as engines_module  # noqa: E402
from sensesearch.cli import app  # noqa: E402
from sensesearch.config import EncoderSettings  # noqa: E402
from sensesearch.errors import UsageError  # noqa: E402
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


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_unreachable_address_fails_in_seconds_before_the_model_loads(
        tmp_path: Path, bank_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    address = f"127.0.0.1:{_closed_port()}"
    loaded: list[str] = []
    monkeypatch.setattr(engines_module, "RAY_CONNECT_TIMEOUT_S", 2.0)
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", lambda s, d: loaded.append("model") or FakeEncoder(s))
    started = time.monotonic()
    result = CliRunner().invoke(app, ["index", str(bank_corpus), "-i", str(tmp_path / "idx"), "-m", "fake:test", "-q",
                                      "--engine", "ray", "--address", address])
    assert time.monotonic() - started < 10
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"Error: cannot reach a Ray cluster at --address {address}: connection refused" in output
    assert "GCS" in output and not loaded and not (tmp_path / "idx").exists()


@pytest.mark.parametrize("address, endpoint", [
    ("auto", None), ("local", None), ("head:6379", ("head", 6379, False)), ("10.0.0.5:1", ("10.0.0.5", 1, False)),
    ("[::1]:6379", ("::1", 6379, False)), ("ray://head:10001", ("head", 10001, True)),
    ("ray://[fe80::1]:10001", ("fe80::1", 10001, True)), ("ray://head", None), ("anyscale://my-cluster", None),
])
def test_ray_endpoint_of_each_address_form(address: str, endpoint: tuple[str, int, bool] | None) -> None:
    assert engines_module.ray_endpoint(address) == endpoint


@pytest.mark.parametrize("address", ["head", "head:", "head:port", "head:0", "head:70000", ":6379", "::1:6379",
                                     "ray://head:x", "http://head:8265", "[::1"])
def test_malformed_address_is_a_usage_error(address: str) -> None:
    with pytest.raises(UsageError, match="--address must be auto, HOST:PORT"):
        engines_module.check_ray_address(address)


def test_address_check_refuses_a_web_server_and_reads_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer(reply: bytes) -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(reply)

        thread = threading.Thread(target=answer, args=(b"HTTP/1.1 400 Bad Request\r\n\r\n",))
        thread.start()
        monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
        with pytest.raises(SenseSearchError, match=f"at RAY_ADDRESS 127.0.0.1:{port}: an HTTP server answers"):
            engines_module.check_ray_address("auto")
        thread.join()
        thread = threading.Thread(target=answer, args=(b"\x00\x00\x00\x04\x00",))  # an HTTP/2 SETTINGS frame
        thread.start()
        engines_module.check_ray_address(None)  # the GCS answers HTTP/2: passes
        thread.join()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    with pytest.raises(SenseSearchError, match="connection refused"):
        engines_module.check_ray_address(None)


def test_quiet_keeps_rays_notices_off_stderr_and_restores_logging(
        fake_settings: EncoderSettings, ray_cluster: None, capsys: pytest.CaptureFixture[str]) -> None:
    import ray.data  # noqa: F401  (sets up Ray Data's own logging, as the engine's first use does)

    data_handlers = [(h, h.level) for h in logging.getLogger("ray.data").handlers]
    ray_level = logging.getLogger("ray").level
    capsys.readouterr()
    with _fake_ray(fake_settings, quiet=True):
        logging.getLogger("ray._private.authentication.authentication_token_setup").warning("token notice")
        logging.getLogger("ray.data._internal.execution.streaming_executor").info("execution finished")
    err = capsys.readouterr().err
    assert "token notice" not in err and "execution finished" not in err
    assert logging.getLogger("ray").level == ray_level
    assert [(h, h.level) for h in logging.getLogger("ray.data").handlers] == data_handlers


def test_open_engine_passes_quiet_to_the_ray_engine(fake_settings: EncoderSettings, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, object]] = []

    @contextlib.contextmanager
    def fake_engine(*args: object, **options: object) -> Iterator[None]:
        made.append(options)
        yield None

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray_engine, "RayChunkEncoder", fake_engine)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        with engines_module.open_engine("ray", index, quiet=True):
            pass
    assert made and made[0]["quiet"] is True
