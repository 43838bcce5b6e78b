"""Ingest hands the encoder chunks bounded by characters (issue 17.15) through its streaming entry (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from sensesearch.config import EncoderSettings
from sensesearch.index import SenseIndex
from sensesearch.ingest import CHUNK_CHARS
from sensesearch.records import EncodedSentence

from .fake_encoder import FakeEncoder


class RecordingEncoder(FakeEncoder):
    """Records the characters of each chunk it is handed, and whether they came through encode_stream."""

    def __init__(self, settings: EncoderSettings, streaming: bool) -> None:
        super().__init__(settings)
        self.chunk_chars: list[int] = []
        self.streamed = 0
        if streaming:
            self.encode_stream = self._stream  # type: ignore[method-assign]

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        self.chunk_chars.append(sum(len(s) for s in sentences))
        return super().encode(sentences)

    def _stream(self, chunks: Iterable[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        for texts in chunks:
            self.streamed += 1
            yield self.encode(texts)


def long_sentence_document(folder: Path, sentences: int = 260, words: int = 160) -> Path:
    folder.mkdir()
    line = " ".join(f"word{i % 50}" for i in range(words)) + "."
    (folder / "one.txt").write_text("\n\n".join([line] * sentences))
    return folder


def test_one_document_of_long_sentences_is_encoded_in_character_bounded_chunks(tmp_path: Path,
                                                                               fake_settings: EncoderSettings) -> None:
    corpus = long_sentence_document(tmp_path / "corpus")
    encoder = RecordingEncoder(fake_settings, streaming=False)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, encoder=encoder) as index:
        report = index.add([corpus])
    total = sum(encoder.chunk_chars)
    assert report.documents_indexed == 1 and report.sentences == 260
    # 260 sentences of about 1,000 characters: far under the sentence limit, over the character bound.
    assert total > CHUNK_CHARS and len(encoder.chunk_chars) >= 2
    assert max(encoder.chunk_chars) <= CHUNK_CHARS + 2000


def test_in_process_ingest_streams_through_encode_stream(tmp_path: Path, bank_corpus: Path,
                                                         fake_settings: EncoderSettings) -> None:
    encoder = RecordingEncoder(fake_settings, streaming=True)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, encoder=encoder) as index:
        report = index.add([bank_corpus])
        assert encoder.streamed == len(encoder.chunk_chars) >= 1
        assert report.occurrences > 0 and index.query("money in the [[bank]]", k=2)


def test_whole_number_settings_from_the_environment_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked, and the process's setting at fault (SetupError), not a request: the server had answered 400."""
    from sensesearch.errors import SetupError
    from sensesearch.ingest import MIN_CHECKPOINT_OCCURRENCES, checkpoint_occurrences
    from sensesearch.runner import default_batch_tokens

    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", " ")
    assert checkpoint_occurrences() == MIN_CHECKPOINT_OCCURRENCES
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", "250")
    assert checkpoint_occurrences() == 250
    for bad in ("0", "-5", "many"):
        monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", bad)
        with pytest.raises(SetupError, match="SENSESEARCH_CHECKPOINT_OCCURRENCES must be a whole number >= 1"):
            checkpoint_occurrences()
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "2048")
    assert default_batch_tokens("cpu") == 2048
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "63")
    with pytest.raises(SetupError, match="SENSESEARCH_BATCH_TOKENS must be a whole number >= 64"):
        default_batch_tokens("cpu")


def chunks_both_ways(corpus: Path, folder: Path, settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch,
                     checkpoint: int) -> tuple[list[list[str]], list[list[str]]]:
    """The chunks an ingest of `corpus` into a new index in `folder` hands its encoder, and those
    benchmarks/_common.pipeline_chunks makes of it, with SENSESEARCH_CHECKPOINT_OCCURRENCES=`checkpoint`."""
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", str(checkpoint))
    sys.modules.pop("_common", None)
    from _common import pipeline_chunks

    handed: list[list[str]] = []
    encoder = RecordingEncoder(settings, streaming=True)
    stream = encoder.encode_stream
    encoder.encode_stream = lambda chunks: stream(handed.append(list(c)) or c for c in chunks)  # type: ignore
    with SenseIndex.create(folder / "idx", settings=settings, encoder=encoder) as index:
        index.add([corpus])
    return handed, pipeline_chunks(corpus)


def test_the_benchmarks_bare_forward_gets_the_very_chunks_ingest_hands_its_encoder(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/_common.pipeline_chunks is what a bare forward pass is timed on, against the pipeline: cut by the
    sentence count alone, it had made one chunk of bench_ingest's 20 documents where ingest makes two (5% fewer padded
    tokens), and the pipeline looked slower than it is. Here with chunks cut by characters, several to a document."""
    corpus = long_sentence_document(tmp_path / "corpus", sentences=12, words=40)
    (corpus / "two.txt").write_text("A short one. Then the bank of the river.\n\nMoney in the bank!")
    (corpus / "three.txt").write_text("   \n")
    handed, benchmarked = chunks_both_ways(corpus, tmp_path, fake_settings, monkeypatch, 400)  # ~1,600 characters
    assert len(handed) >= 3 and sum(map(len, handed)) == 15
    assert benchmarked == handed


def test_the_benchmarks_chunks_leave_out_what_ingest_skips(tmp_path: Path, fake_settings: EncoderSettings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A file x.jsonl#z.txt beside x.jsonl's record "z.txt" has its key, and ingest skips the later comer: the
    benchmarks had chunked it as well. Here with empty files and records, repeated ids, and sentences each past the
    chunk bound (SENSESEARCH_CHECKPOINT_OCCURRENCES=1: a few characters)."""
    corpus = long_sentence_document(tmp_path / "corpus", sentences=3, words=2000)
    (corpus / "empty.txt").write_text("")
    records = [{"id": "a", "text": "The bank lent money."}, {"id": "a", "text": "The bank lent money."},
               {"id": "b", "text": "One bank."}, {"id": "b", "text": "Another bank."}, {"id": "c", "text": ""},
               {"id": "z.txt", "text": "Zed bank."}]
    (corpus / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (corpus / "r.jsonl#z.txt").write_text("Another zed bank.")
    handed, benchmarked = chunks_both_ways(corpus, tmp_path, fake_settings, monkeypatch, 1)
    assert {len(chunk) for chunk in handed} == {1}
    assert handed[-3:] == [["The bank lent money."], ["One bank."], ["Zed bank."]]
    assert benchmarked == handed
