"""Shared fixtures: offline mode, the fake encoder registered as model "fake:...", small corpora."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# A background job of a non-interactive shell starts with SIGINT ignored, and the processes it starts inherit that:
# the tests of what Ctrl-C does then all failed (a child run through to the end, "DID NOT RAISE KeyboardInterrupt").
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from sensesearch import encoder as encoder_module  # noqa: E402
from sensesearch.config import EncoderSettings  # noqa: E402

from .fake_encoder import FakeEncoder  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

BANK_CORPUS = """The bank raised its interest rates on savings accounts.
She asked the bank for a loan to buy a house.
The bank lent money to the farmers at a low rate.
We had a picnic on the grassy bank of the river.
The canoe drifted toward the muddy bank of the river.
Herons stood on the far bank of the stream.
"""


@pytest.fixture(autouse=True)
def fake_model_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model ids "fake:<anything>" load the FakeEncoder, in-process (CLI tests included)."""
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake",
                        lambda settings, device: FakeEncoder(settings))


@pytest.fixture
def fake_settings() -> EncoderSettings:
    return EncoderSettings(model="fake:test")


@pytest.fixture
def bank_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "bank.txt").write_text(BANK_CORPUS)
    return folder


LOOK_ALIKE_NAMES = {"x/same.txt", "y/same.txt", "a/x.jsonl#r1", "b/x.jsonl#r1"}
"""The names look_alike_corpus's documents go by in one listing of all four."""


def write_look_alike_corpus(corpus: Path) -> Path:
    """Two text files of one name in two folders, and a record "r1" in each of two JSON Lines files of one name, each
    with one usage of bank: documents a listing must tell apart (LOOK_ALIKE_NAMES)."""
    for folder in ("x", "y", "a", "b"):
        (corpus / folder).mkdir(parents=True)
    (corpus / "x" / "same.txt").write_text("The bank raised its rates.\n")
    (corpus / "y" / "same.txt").write_text("We sat on the river bank.\n")
    (corpus / "a" / "x.jsonl").write_text('{"id": "r1", "text": "The bank lent money."}\n')
    (corpus / "b" / "x.jsonl").write_text('{"id": "r1", "text": "Reeds grew on the muddy bank."}\n')
    return corpus


@pytest.fixture(scope="session")
def minilm():
    """The real bundled model, loaded once per test session."""
    from sensesearch.encoder import TransformerEncoder

    return TransformerEncoder(EncoderSettings())


@pytest.fixture(scope="session")
def pg_url():
    """URL of a throwaway database on the PostgreSQL server in env SENSESEARCH_TEST_PG_URL (skips without one)."""
    from .pg_server import throwaway_database

    yield from throwaway_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """Each metadata back end in turn: None (SQLite in the index folder), then the PostgreSQL test database."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_url")
