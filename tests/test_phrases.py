"""Words the pre-tokenizer splits and multi-word spans: usages and query agree, in the API and the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex, WordNotFoundError
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.query import span_vector

from .fake_encoder import FakeEncoder

runner = CliRunner()
CORPUS = [
    "The interest rate rose again this year.",
    "A lower interest  rate helps the farmers.",
    "Interest in the rate was low.",
    "I don't know the answer.",
    "She don\u2019t care about it.",
    "Don t split this one.",
    "A well-known bank opened.",
    "It went well, known by all.",
    "\u6211\u5728\u94f6\u884c\u5de5\u4f5c\u3002",
]


@pytest.fixture
def phrase_index(tmp_path: Path, fake_settings: EncoderSettings) -> Path:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "p.txt").write_text("\n\n".join(CORPUS) + "\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
    return tmp_path / "idx"


@pytest.mark.parametrize(("phrase", "found"), [
    ("interest rate", ["interest rate", "interest  rate"]),
    ("Interest Rate", ["interest rate", "interest  rate"]),
    ("don't", ["don't", "don\u2019t"]),
    ("don\u2019t", ["don't", "don\u2019t"]),
    ("well-known", ["well-known"]),
    ("\u94f6\u884c", ["\u94f6\u884c"]),
])
def test_usages_of_a_phrase_are_adjacent_stored_words(phrase_index: Path, phrase: str, found: list[str]) -> None:
    with SenseIndex.open(phrase_index, read_only=True) as index:
        hits = index.usages(phrase)
    assert [h.word for h in hits] == found
    for hit in hits:
        assert hit.sentence[hit.start:hit.end] == hit.word


def test_a_phrase_past_the_lookup_bound_is_refused_as_such(phrase_index: Path) -> None:
    """64 words had failed as "the metadata database ... failed: at most 64 tables in a join", exit 1."""
    from sensesearch import QueryError
    from sensesearch.wordrows import MAX_PHRASE_WORDS

    with SenseIndex.open(phrase_index, read_only=True) as index:
        with pytest.raises(QueryError, match=f"a phrase of at most {MAX_PHRASE_WORDS} words is looked up, not 64"):
            index.usages(" ".join(["the"] * 64))
        with pytest.raises(QueryError, match="at most"):
            index.query("[[" + " ".join(["the"] * 200) + "]]")
        with pytest.raises(WordNotFoundError):  # at the bound, looked up as any phrase
            index.usages(" ".join(["the"] * MAX_PHRASE_WORDS))
    result = runner.invoke(app, ["usages", " ".join(["the"] * 64), "--index", str(phrase_index)])
    assert result.exit_code == 1 and "database" not in result.output, result.output


@pytest.mark.parametrize("word", ["known,", "\u201cknown\u201d", "(known)"])
def test_one_word_in_punctuation_is_that_word(phrase_index: Path, word: str) -> None:
    with SenseIndex.open(phrase_index, read_only=True) as index:
        assert [h.word for h in index.usages(word)] == ["known", "known"]


def test_query_for_a_marked_phrase_scores_span_vectors(phrase_index: Path) -> None:
    query = "Yesterday the [[interest rate]] fell."
    with SenseIndex.open(phrase_index, read_only=True) as index:
        hits = index.query(query, k=5)
        assert {h.word for h in hits} == {"interest rate", "interest  rate"}
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        encoder = FakeEncoder()
        clean = query.replace("[[", "").replace("]]", "")
        start = clean.index("interest")
        _, want = span_vector(encoder.encode([clean])[0], start, start + len("interest rate"), clean)
        for hit in hits:
            _, usage = span_vector(encoder.encode([hit.sentence])[0], hit.start, hit.end, hit.sentence)
            assert hit.score == pytest.approx(float(usage @ want), abs=1e-4)
        assert len(index.query("They [[don't]] mind.", k=5)) == 2


def test_phrase_vectors_for_senses(phrase_index: Path) -> None:
    with SenseIndex.open(phrase_index, read_only=True) as index:
        ids, vectors = index.word_vectors("interest rate")
    assert len(ids) == 2 and vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_senses_of_a_phrase_show_the_whole_phrase(phrase_index: Path) -> None:
    """Regression: sense examples and assignments of a phrase used to span only its first word."""
    with SenseIndex.open(phrase_index, read_only=True) as index:
        report = index.senses("interest rate", k=2, examples=2)
        hits = index.hits(index.word_vectors("interest rate")[0].tolist(), word="interest rate")
    shown = [h.word for group in report.senses for h in group.examples]
    assert sorted(shown) == ["interest  rate", "interest rate"]
    assert sorted(a.sentence[a.start:a.end] for a in report.assignments) == ["interest  rate", "interest rate"]
    assert sorted(h.word for h in hits) == ["interest  rate", "interest rate"]


def test_missing_phrase_says_so_the_same_way(phrase_index: Path) -> None:
    with SenseIndex.open(phrase_index, read_only=True) as index:
        with pytest.raises(WordNotFoundError) as usages_error:
            index.usages("rate interest")
        with pytest.raises(WordNotFoundError) as query_error:
            index.query("the [[rate interest]] here")
    assert "adjacent words rate interest" in str(usages_error.value)
    assert str(query_error.value).startswith(str(usages_error.value))


def _options(command: str) -> set[str]:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    return set(re.findall(r"--[a-z][a-z-]*", result.output))


@pytest.mark.parametrize("args", [
    ["usages", "zebra"], ["usages", "rate interest"], ["usages", "won't"],
    ["query", "a [[zebra]] here"], ["query", "the [[rate interest]] here"],
    ["senses", "zebra"], ["senses", "rate interest"],
])
def test_every_hint_names_a_real_option_and_works(phrase_index: Path, args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--index", str(phrase_index)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    hinted = set(re.findall(r"--[a-z][a-z-]*", result.output))
    assert hinted <= _options(args[0]), hinted
    for option in hinted:
        followed = runner.invoke(app, [*args, "--index", str(phrase_index), option])
        assert followed.exit_code == 0 and followed.exception is None, (option, followed.output)


@pytest.mark.parametrize("word", ["don't", "well-known", "\u94f6\u884c", "interest rate"])
def test_cli_usages_and_query_agree_on_split_words(phrase_index: Path, word: str) -> None:
    usages = runner.invoke(app, ["usages", word, "--index", str(phrase_index), "--json"])
    query = runner.invoke(app, ["query", f"so [[{word}]] here", "--index", str(phrase_index), "--json"])
    assert usages.exit_code == 0 and usages.exception is None, usages.output
    assert query.exit_code == 0 and query.exception is None, query.output
    assert "interest" not in word or len(re.findall('"occurrence_id"', usages.stdout)) == 2


def test_http_api_words_phrases_and_offset_units(phrase_index: Path) -> None:
    from fastapi.testclient import TestClient

    from sensesearch.server import create_app

    with TestClient(create_app(phrase_index, encoder=FakeEncoder()), base_url="http://127.0.0.1") as client:
        words = client.post("/api/words", json={"text": "\U0001f600 I don't bank at \u94f6\u884c."}).json()
        assert [(w["start"], w["end"], w["word"], w["stored"]) for w in words] == [
            (0, 1, "\U0001f600", False), (2, 3, "I", True), (4, 7, "don", True), (7, 8, "'", False),
            (8, 9, "t", True), (10, 14, "bank", True), (15, 17, "at", True), (18, 19, "\u94f6", True),
            (19, 20, "\u884c", True), (20, 21, ".", False)]
        usages = client.get("/api/usages", params={"word": "interest rate"}).json()
        assert [h["word"] for h in usages] == ["interest rate", "interest  rate"]
        query = client.post("/api/query", json={"text": "the [[well-known]] one"}).json()
        assert [h["word"] for h in query] == ["well-known"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        # The answers' hits: NamedHit, a Hit with its document's name (separate schemas once output-only fields).
        hit = "NamedHit-Output" if "NamedHit-Output" in schema else "NamedHit"
        for model, field in ((hit, "start"), (hit, "end"), (hit, "doc_start"),
                             ("WordSpan", "start"), ("WordSpan", "end")):
            assert "Unicode code points" in schema[model]["properties"][field]["description"]


def test_a_phrase_is_cut_by_the_tokenizer_alone_without_loading_the_model(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sensesearch.index as index_module
    from sensesearch.hfmodel import tokenizer_fingerprint
    from sensesearch.planner import Planner
    from sensesearch.wordsplit import TokenizerSplitter, load_word_splitter

    (tmp_path / "a.txt").write_text("The interest rate rose. We don't know why the interest rate rose.\n")
    settings = EncoderSettings()  # the bundled MiniLM's recipe, with the fake's vectors
    splitter = load_word_splitter(settings, "")
    assert splitter is not None
    fake = FakeEncoder(settings)
    fake.tokenizer_fingerprint = tokenizer_fingerprint(splitter.tokenizer)
    with SenseIndex.create(tmp_path / "idx", settings=settings, encoder=fake) as index:
        index.add([tmp_path / "a.txt"])

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded to cut a phrase into words")

    monkeypatch.setattr(index_module, "load_encoder", no_model)
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert [hit.word for hit in index.usages("interest rate")] == ["interest rate"] * 2
        assert [hit.word for hit in index.usages("don't")] == ["don't"]
    assert load_word_splitter(settings, "another tokenizer's fingerprint") is None  # the encoder then says why
    # The bare tokenizer.json, known by its fingerprint to cut as the index's tokenizer did, needs no torch (1.8 s).
    assert isinstance(load_word_splitter(settings, fake.tokenizer_fingerprint), TokenizerSplitter)
    assert isinstance(load_word_splitter(settings, ""), Planner)  # no fingerprint to check it by: transformers'
    script = (f"import sys; from sensesearch import SenseIndex; index = SenseIndex.open({str(tmp_path / 'idx')!r}, "
              "read_only=True); print(len(index.usages('interest rate')), 'torch' in sys.modules)")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert ran.stdout.split() == ["2", "False"], ran.stderr
