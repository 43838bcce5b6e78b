"""Where ingest encodes: in turn with the writing for an encoder on the host CPU, on a read-ahead thread off it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.encoder import runs_on_host
from sensesearch.readahead import ReadAhead
from sensesearch.records import EncodedSentence

from .fake_encoder import FakeEncoder
from .robust_util import write_corpus


class ThreadRecordingEncoder(FakeEncoder):
    def __init__(self, settings: EncoderSettings, on_host: bool) -> None:
        super().__init__(settings)
        self.runs_on_host = on_host
        self.threads: set[str] = set()

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        self.threads.add(threading.current_thread().name)
        return super().encode(sentences)


@pytest.mark.parametrize("on_host", [True, False])
def test_a_host_encoder_runs_in_the_calling_thread_and_an_off_host_one_ahead_of_it(
        tmp_path: Path, fake_settings: EncoderSettings, on_host: bool) -> None:
    corpus = write_corpus(tmp_path / "corpus", 4, 30)
    encoder = ThreadRecordingEncoder(fake_settings, on_host)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, encoder=encoder) as index:
        report = index.add([corpus])
        assert report.documents_indexed == 4 and report.sentences == 120
    expected = {threading.current_thread().name} if on_host else {"sensesearch-encode"}
    assert encoder.threads == expected
    # Same content either way.
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().occurrences == report.occurrences


def test_encoders_run_on_the_host_unless_they_say_otherwise(fake_settings: EncoderSettings) -> None:
    assert runs_on_host(object())  # type: ignore[arg-type]
    assert runs_on_host(FakeEncoder(fake_settings))
    assert not runs_on_host(ThreadRecordingEncoder(fake_settings, on_host=False))


def test_read_ahead_of_depth_zero_runs_in_the_consumer_and_closes_its_source() -> None:
    produced_in: list[str] = []
    closed: list[bool] = []

    def items() -> Iterator[int]:
        try:
            for i in range(5):
                produced_in.append(threading.current_thread().name)
                yield i
        finally:
            closed.append(True)

    ahead = ReadAhead(items, 0)
    taken = []
    for item in ahead:
        taken.append(item)
        if item == 2:
            break
    ahead.close()
    assert taken == [0, 1, 2] and closed == [True]
    assert set(produced_in) == {threading.current_thread().name} and len(produced_in) == 3


def test_read_ahead_of_depth_zero_raises_the_source_error_in_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        list(ReadAhead(items, 0))
