"""Sense induction plumbing with the fake encoder: clusters, examples, keywords, JSON shape, plot, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from sensesearch import SenseCountError, SenseIndex, SenseSearchError, WordNotFoundError
from sensesearch import senses as senses_module
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.keywords import context_words, distinctive_words
from sensesearch.records import Hit
from sensesearch.senses import choose_k, cluster, induce_senses, plot_senses

MONEY = ["money", "loan", "cash", "interest", "savings"]
RIVER = ["river", "water", "fishing", "grassy", "muddy"]


def corpus_lines(n_per_sense: int) -> list[tuple[str, int]]:
    """Sentences "a b bank c d x" with context words from one sense's vocabulary, and that sense (1 or 2)."""
    lines = []
    for i in range(n_per_sense):
        for sense, vocab in ((1, MONEY), (2, RIVER)):
            words = [w for j, w in enumerate(vocab) if j != i % len(vocab)]
            # A word of its own per sentence, so no two usages are identical (as in real text).
            lines.append((f"{words[0]} {words[1]} bank {words[2]} {words[3]} n{i}s{sense}.", sense))
    return lines


@pytest.fixture
def sense_index(tmp_path: Path, fake_settings: EncoderSettings) -> tuple[Path, list[int]]:
    lines = corpus_lines(15)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "banks.txt").write_text("\n\n".join(text for text, _ in lines) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
    return tmp_path / "idx", [sense for _, sense in lines]


def test_two_contexts_give_two_senses_with_telling_keywords(sense_index: tuple[Path, list[int]]) -> None:
    path, gold = sense_index
    with SenseIndex.open(path, read_only=True) as index:
        report = induce_senses(index, "bank", examples=3)
    assert report.chosen_by == "silhouette" and len(report.senses) == 2 and report.n_usages == 30
    assert [g.sense for g in report.senses] == [1, 2]
    assert sum(g.size for g in report.senses) == 30
    predicted = [a.sense for a in sorted(report.assignments, key=lambda a: a.occurrence_id)]
    assert adjusted_rand_score(gold, predicted) == 1.0
    for group in report.senses:
        vocabulary = MONEY if set(group.keywords) & set(MONEY) else RIVER
        assert group.keywords and set(group.keywords) <= set(vocabulary)
        assert len(group.examples) == 3 and all(h.word == "bank" for h in group.examples)
        scores = [h.score for h in group.examples]
        assert scores == sorted(scores, reverse=True)
    assert report.points.shape == (30, 2) and len(report.point_senses) == 30


def test_fixed_k_and_bad_requests(sense_index: tuple[Path, list[int]]) -> None:
    path, _ = sense_index
    with SenseIndex.open(path, read_only=True) as index:
        report = induce_senses(index, "BANK", k=3, examples=0)
        assert report.chosen_by == "given" and 2 <= len(report.senses) <= 3
        assert all(g.examples == () for g in report.senses)
        single = induce_senses(index, "bank", k=1)
        assert len(single.senses) == 1 and single.senses[0].size == 30
        with pytest.raises(SenseSearchError, match="between 1 and 30"):
            induce_senses(index, "bank", k=31)
        with pytest.raises(WordNotFoundError):
            induce_senses(index, "zebra")


@pytest.mark.parametrize("n_usages", [1, 2])
def test_words_with_one_or_two_usages_give_one_sense_or_a_clear_error(tmp_path: Path, fake_settings: EncoderSettings,
                                                                      n_usages: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = ["The otter swam under the bridge.", "An otter slept on the warm stones."][:n_usages]
    (corpus / "otters.txt").write_text("\n\n".join(lines) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        chosen = induce_senses(index, "otter")
        assert chosen.chosen_by == "too few usages" and [(g.sense, g.size) for g in chosen.senses] == [(1, n_usages)]
        assert chosen.points.shape == (n_usages, 2)
        given = induce_senses(index, "otter", k=n_usages)
        assert sorted(g.size for g in given.senses) == [1] * n_usages
        assert [g.sense for g in given.senses] == list(range(1, n_usages + 1))
        usages = "1 usage" if n_usages == 1 else "2 usages"
        expected = f"only {usages}, too few for 3 senses: ask for between 1 and {n_usages}"
        with pytest.raises(SenseCountError, match=expected):
            induce_senses(index, "otter", k=3)
        with pytest.raises(SenseCountError, match="at least 1 sense"):
            induce_senses(index, "otter", k=0)


def test_sense_index_senses_is_induce_senses(sense_index: tuple[Path, list[int]]) -> None:
    path, _ = sense_index
    with SenseIndex.open(path, read_only=True) as index:
        through_index = index.senses("bank", k=2, examples=2, seed=3).to_dict()
        direct = induce_senses(index, "bank", k=2, examples=2, seed=3).to_dict()
        with pytest.raises(SenseCountError):
            index.senses("bank", k=31)
    assert {**through_index, "seconds": None} == {**direct, "seconds": None}
    assert through_index["k"] == 2 and all(len(s["examples"]) == 2 for s in through_index["senses"])


def test_report_json_has_the_promised_shape(sense_index: tuple[Path, list[int]]) -> None:
    path, _ = sense_index
    with SenseIndex.open(path, read_only=True) as index:
        data = json.loads(json.dumps(induce_senses(index, "bank", examples=2).to_dict()))
    assert {"word", "senses", "assignments"} <= set(data) and data["word"] == "bank"
    hit_keys = set(Hit(1, "w", "s", 0, 1, "d", 1, 0, 0).to_dict())
    for group in data["senses"]:
        assert {"sense", "size", "examples", "keywords"} <= set(group)
        assert all(set(h) == hit_keys for h in group["examples"])
    assert len(data["assignments"]) == 30
    assert {"occurrence_id", "sense", "document", "sentence", "start", "end"} <= set(data["assignments"][0])
    first = data["assignments"][0]
    assert first["sentence"][first["start"]:first["end"]] == "bank"


def test_plot_writes_a_png_to_a_path_or_a_stream(sense_index: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ = sense_index
    with SenseIndex.open(path, read_only=True) as index:
        report = induce_senses(index, "bank")
    buffer = io.BytesIO()
    plot_senses(report, buffer)
    assert buffer.getvalue().startswith(b"\x89PNG")
    plot_senses(report, tmp_path / "bank.png")
    assert (tmp_path / "bank.png").read_bytes().startswith(b"\x89PNG")


def test_large_words_take_the_sampled_and_mini_batch_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(senses_module, "K_SAMPLE", 100)
    monkeypatch.setattr(senses_module, "FIT_SAMPLE", 500)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    truth = np.repeat(np.arange(3), 400)
    vectors = centres[truth] + 0.1 * rng.standard_normal((1200, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    k, scores = choose_k(vectors.astype(np.float32), seed=0)
    assert k == 3 and set(scores) == set(range(2, 9))
    labels, how = cluster(vectors.astype(np.float32), k, seed=0)
    assert "mini-batch" in how and adjusted_rand_score(truth, labels) > 0.99


def test_distinctive_words_prefer_words_of_their_own_group() -> None:
    groups = [[{"loan", "cash"}, {"loan", "money"}, {"loan", "the"}], [{"river", "the"}, {"river", "mud"}]]
    assert distinctive_words(groups, top=1) == [["loan"], ["river"]]
    assert distinctive_words([[{"a", "b"}, {"a"}]], top=2) == [["a"]]
    # Every group's only context word is one word: its odds divided by (a rounding of) zero, "math domain error"
    # out of `senses quokka -k 2` on "Two quokka and another quokka met.".
    assert distinctive_words([[{"met"}], [{"met"}]]) == [[], []]
    assert distinctive_words([[{"met"}, {"met"}], [{"met"}]], min_count=1) == [[], []]
    hit = Hit(1, "Bank", "The old Bank's loans and the river banks", 8, 12, "d", 1, 0, 8)
    assert context_words(hit) == {"old", "loans", "river", "banks"}


def test_senses_cli_json_text_and_plot(sense_index: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, _ = sense_index
    runner = CliRunner()
    result = runner.invoke(app, ["senses", "bank", "--index", str(path), "--json", "--examples", "1"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["senses"]) == 2
    result = runner.invoke(app, ["senses", "bank", "--index", str(path), "--k", "2", "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert "sense 1" in result.stdout and "keywords:" in result.stdout and (tmp_path / "p.png").is_file()
    result = runner.invoke(app, ["senses", "zebra", "--index", str(path)])
    assert result.exit_code == 1 and "does not occur" in result.output


def test_one_sense_says_why_one(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """`senses power -k 1` on 241 usages said "one sense (too few usages to split)": the reason is told as it is."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "same.txt").write_text("The otter swam under the bridge.\n\n" * 6)
    (corpus / "varied.txt").write_text("\n\n".join(f"A heron number {i} stood in reed bed {i * 7}." for i in range(6)))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        given = induce_senses(index, "heron", k=1)
        assert given.chosen_by == "given" and given.method.startswith("k=1 given;") and "too few" not in given.method
        alike = induce_senses(index, "otter")
        assert alike.chosen_by == "no split" and "do not fall into two groups" in alike.method
        assert [(g.sense, g.size) for g in alike.senses] == [(1, 6)] and not alike.points.any()
