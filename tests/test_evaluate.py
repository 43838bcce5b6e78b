"""Metrics, threshold tuning, benchmark readers and both evals (fake encoder; one slow real-model run)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.errors import InputError
from sensesearch.evaldata import read_coarsewsd, read_wic, subsample, target_sentence, token_span
from sensesearch.evaluate import (accuracy, best_threshold, centroid_predict, evaluate_coarsewsd, evaluate_wic,
                                  knn_predict, macro_f1, majority_accuracy, pick_word)

SHARED = Path(__file__).resolve().parents[2] / "shared"
MONEY_WORDS = ["money", "loan", "cash", "interest", "savings", "account", "credit", "deposit"]
RIVER_WORDS = ["river", "water", "fishing", "grassy", "muddy", "stream", "reeds", "shore"]


def sentences(vocabulary: list[str], n: int = 6) -> list[str]:
    """Templates "a b {w} c d" whose context words all come from one sense's vocabulary."""
    return [" ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(2)) + " {w} "
            + " ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(2, 4)) for i in range(n)]


MONEY = sentences(MONEY_WORDS)
RIVER = sentences(RIVER_WORDS)


def write_word(folder: Path, word: str, split: str, rows: list[tuple[str, str]]) -> None:
    """rows: (sentence with the word as a whole token, sense id)."""
    target = folder / word
    target.mkdir(parents=True, exist_ok=True)
    data = [f"{sentence.split(' ').index(word)}\t{sentence}" for sentence, _ in rows]
    (target / f"{split}.data.txt").write_text("\n".join(data) + "\n")
    (target / f"{split}.gold.txt").write_text("\n".join(sense for _, sense in rows) + "\n")
    (target / "classes_map.txt").write_text(json.dumps({"0": f"{word}_money", "1": f"{word}_river"}))


@pytest.fixture
def wsd_dirs(tmp_path: Path) -> tuple[Path, Path]:
    train, test = tmp_path / "train", tmp_path / "test"
    for word in ("bank", "pitch"):
        rows = [(t.format(w=word), "0") for t in MONEY] + [(t.format(w=word), "1") for t in RIVER]
        write_word(train, word, "train", [r for i, r in enumerate(rows) if i % 3])
        write_word(test, word, "test", [r for i, r in enumerate(rows) if not i % 3])
    return train, test


def test_token_span_maps_space_tokens_to_characters() -> None:
    text = "the bank , by the river"
    assert token_span(text, 1) == (4, 8) and text[slice(*token_span(text, 5))] == "river"
    with pytest.raises(InputError):
        token_span(text, 6)


def test_target_sentence_cuts_the_line_like_the_index(tmp_path: Path) -> None:
    from sensesearch.evaldata import WsdItem

    text = "It rained all day. We sat on the bank of the river."
    start = text.index("bank")
    sentence, s, e = target_sentence(WsdItem("bank", text, start, start + 4, "1"))
    assert sentence == "We sat on the bank of the river." and sentence[s:e] == "bank"


def test_metrics_on_known_values() -> None:
    gold = ["a", "a", "a", "b"]
    assert accuracy(gold, ["a", "a", "b", "b"]) == 75.0
    # F1(a) = 2*2/(2*2+1) = 0.8, F1(b) = 2*1/(2*1+1) = 2/3.
    assert macro_f1(gold, ["a", "a", "b", "b"]) == pytest.approx(100 * (0.8 + 2 / 3) / 2)
    assert majority_accuracy(["b", "b", "a"], gold) == 25.0
    assert accuracy([], []) == 0.0


def test_best_threshold_separates_and_breaks_ties_in_the_middle() -> None:
    threshold, acc = best_threshold([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert acc == 100.0 and 0.2 < threshold < 0.8 and threshold == pytest.approx(0.5)
    # Two cuts reach 75%: below everything, or between 0.5 and 0.6; the one nearer the middle wins.
    threshold, acc = best_threshold([0.3, 0.5, 0.6, 0.7], [True, False, True, True])
    assert acc == 75.0 and threshold == pytest.approx(0.55)
    threshold, acc = best_threshold([0.5, 0.5], [True, False])
    assert acc == 50.0
    with pytest.raises(InputError):
        best_threshold([], [])


def test_centroid_and_knn_classifiers() -> None:
    train = np.array([[1, 0.1], [1, -0.1], [0.1, 1], [-0.1, 1], [0.9, 0.5]], dtype=np.float32)
    labels = ["x", "x", "y", "y", "y"]
    test = np.array([[1, 0.05], [0.05, 1]], dtype=np.float32)
    assert centroid_predict(train, labels, test) == ["x", "y"]
    assert knn_predict(train, labels, test, k=3) == ["x", "y"]
    # With k=1 the single nearest neighbour decides.
    assert knn_predict(train, labels, np.array([[0.9, 0.52]], dtype=np.float32), k=1) == ["y"]


def test_pick_word_prefers_the_largest_overlap() -> None:
    spans = np.array([[0, 3], [4, 8], [8, 9], [9, 10]])
    assert pick_word(spans, 4, 10) == 1 and pick_word(spans, 11, 12) is None


def test_reader_subsamples_reproducibly(wsd_dirs: tuple[Path, Path]) -> None:
    train, _ = wsd_dirs
    words = read_coarsewsd(train, limit=3, seed=1)
    again = read_coarsewsd(train, limit=3, seed=1)
    assert list(words) == ["bank", "pitch"] and len(words["bank"].items) == 3
    assert words["bank"].items == again["bank"].items
    assert words["bank"].classes["1"] == "bank_river"
    assert subsample(words["bank"].items, None, 0, "t") == words["bank"].items
    with pytest.raises(InputError, match="no data for 'zebra' \\(it has 'bank', 'pitch'\\)"):
        read_coarsewsd(train, ["zebra"])


def test_coarsewsd_through_an_index_labels_every_test_usage(wsd_dirs: tuple[Path, Path]) -> None:
    train, test = wsd_dirs
    settings = EncoderSettings(model="fake:test")
    report = evaluate_coarsewsd(read_coarsewsd(train), read_coarsewsd(test), settings)
    assert set(report.per_word) == {"bank", "pitch"}
    assert report.per_word["bank"].n == 4 and report.per_word["bank"].n_train == 8
    assert report.mean_accuracy == 100.0 and report.overall_accuracy == 100.0
    knn = evaluate_coarsewsd(read_coarsewsd(train), read_coarsewsd(test), settings, method="knn", k=3,
                             compression="flat")
    assert knn.method == "knn" and knn.k == 3 and knn.mean_accuracy >= 75.0


def test_eval_coarsewsd_cli_json_shape(wsd_dirs: tuple[Path, Path]) -> None:
    train, test = wsd_dirs
    result = CliRunner().invoke(app, ["eval", "coarsewsd", str(train), str(test), "--words", "bank",
                                      "--model", "fake:test", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"mean_accuracy", "overall_accuracy", "macro_f1", "per_word", "model", "layers", "combine", "pooling",
            "method", "seconds"} <= set(data)
    assert set(data["per_word"]) == {"bank"} and {"accuracy", "n"} <= set(data["per_word"]["bank"])


def test_a_coarsewsd_report_says_what_it_measured_and_warns_of_a_test_set_inside_the_training_one(
        wsd_dirs: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    """The summary read the same for an sq8 and a pq run (84.44 against 93.11), named no subsample or seed, and
    TRAIN given as TEST scored 100 with no word of warning."""
    train, test = wsd_dirs
    settings = EncoderSettings(model="fake:test")
    report = evaluate_coarsewsd(read_coarsewsd(train, limit=5, seed=3), read_coarsewsd(test, limit=2, seed=3),
                                settings, compression="flat")
    assert report.train == [str(train / w / "train.data.txt") for w in ("bank", "pitch")]
    assert report.test == [str(test / w / "test.data.txt") for w in ("bank", "pitch")]
    assert (report.max_train, report.max_test, report.seed) == (5, 2, 3)
    assert "flat" in report.describe() and "training at most 5 a word, test at most 2 a word, seed 3" in report.describe()
    assert all(score.shared_with_train == 0 for score in report.per_word.values()) and not caplog.records
    same = evaluate_coarsewsd(read_coarsewsd(train), read_coarsewsd(train, ["bank"]), settings)
    assert same.per_word["bank"].shared_with_train == same.per_word["bank"].n == 8
    assert "8 of the 8 test usages are also training usages" in caplog.text
    result = CliRunner().invoke(app, ["eval", "coarsewsd", str(train), str(test), "--words", "bank", "--max-test",
                                      "3", "--compression", "fp16", "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    assert "fp16; training" not in result.stdout and "fp16; test at most 3 a word, seed 0" in result.stdout


def test_eval_cli_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "coarsewsd", str(tmp_path / "nope"), str(tmp_path), "--json"])
    assert result.exit_code == 1 and "no such folder" in result.output and isinstance(result.exception, SystemExit)
    result = CliRunner().invoke(app, ["eval", "wic", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 1 and "holds no *.data.txt file" in " ".join(result.output.split())


def test_a_word_without_test_or_training_usages_is_refused_not_scored_zero(wsd_dirs: tuple[Path, Path]) -> None:
    """An empty test file scored its word 0.00, which the mean accuracy took in (100 and 0 made 50)."""
    train, test = wsd_dirs
    for name in ("test.data.txt", "test.gold.txt"):
        (test / "pitch" / name).write_text("")
    result = CliRunner().invoke(app, ["eval", "coarsewsd", str(train), str(test), "--model", "fake:test", "--json"])
    assert result.exit_code == 1 and not result.stdout
    assert f"no test usages in {str(test / 'pitch' / 'test.data.txt')!r}" in " ".join(result.output.split())
    for name in ("train.data.txt", "train.gold.txt"):
        (train / "bank" / name).write_text("")
    with pytest.raises(InputError, match="no training usages in .*bank"):
        evaluate_coarsewsd(read_coarsewsd(train), read_coarsewsd(test, ["bank"]), EncoderSettings(model="fake:test"))


def test_eval_coarsewsd_refuses_k_without_knn(wsd_dirs: tuple[Path, Path]) -> None:
    """-k with the centroid method was ignored without a word (the JSON then said k null)."""
    train, test = wsd_dirs
    result = CliRunner().invoke(app, ["eval", "coarsewsd", str(train), str(test), "-k", "3", "--model", "fake:test"])
    assert result.exit_code == 2 and "give --method knn too" in result.output
    knn = CliRunner().invoke(app, ["eval", "coarsewsd", str(train), str(test), "-k", "3", "--method", "knn",
                                   "--model", "fake:test", "--json"])
    assert knn.exit_code == 0, knn.output
    assert json.loads(knn.stdout)["k"] == 3


def write_wic(folder: Path, name: str, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows, gold = [], []
    for i in range(n):
        first = MONEY[i % len(MONEY)].format(w="bank")
        same = i % 2 == 0
        second = (MONEY if same else RIVER)[(i + 1) % len(MONEY)].format(w="bank")
        rows.append(f"bank\tN\t{first.split().index('bank')}-{second.split().index('bank')}\t{first}\t{second}")
        gold.append("T" if same else "F")
    (folder / f"{name}.data.txt").write_text("\n".join(rows) + "\n")
    (folder / f"{name}.gold.txt").write_text("\n".join(gold) + "\n")


def test_wic_threshold_is_tuned_on_one_set_and_applied_to_another(tmp_path: Path) -> None:
    write_wic(tmp_path / "tune", "train", 12)
    write_wic(tmp_path / "test", "dev", 6)
    tune, test = read_wic(tmp_path / "tune"), read_wic(tmp_path / "test" / "dev.data.txt")
    assert len(tune) == 12 and tune[0].same is True and tune[1].same is False
    report = evaluate_wic(tune, test, EncoderSettings(model="fake:test"))
    assert report.n == 6 and report.n_tune == 12 and report.tune_accuracy == 100.0 and report.accuracy == 100.0
    result = CliRunner().invoke(app, ["eval", "wic", str(tmp_path / "tune"), str(tmp_path / "test"),
                                      "--model", "fake:test", "--json"])
    assert result.exit_code == 0, result.output
    assert {"accuracy", "threshold", "n"} <= set(json.loads(result.stdout))
    # The templates repeat, so every test pair is a tuning pair too: said, and counted.
    assert report.shared_pairs == 6 and json.loads(result.stdout)["shared_pairs"] == 6
    assert json.loads(result.stdout)["tune"] == [str(tmp_path / "tune" / "train.data.txt")]
    assert report.test == [str(tmp_path / "test" / "dev.data.txt")]
    write_wic(tmp_path / "other", "dev", 1)
    assert evaluate_wic(tune[1:6], read_wic(tmp_path / "other"), EncoderSettings(model="fake:test")).shared_pairs == 0


def test_a_bad_token_index_names_its_file_and_line(tmp_path: Path, wsd_dirs: tuple[Path, Path]) -> None:
    """WiC indices that are not numbers ended `eval wic` with "unexpected ValueError: invalid literal for int()", and a
    token out of range (WiC or CoarseWSD-20) was named by its sentence only."""
    write_wic(tmp_path / "wic", "dev", 3)
    data = tmp_path / "wic" / "dev.data.txt"
    rows = data.read_text().splitlines()
    for indices, problem in (("x-1", "expected two token indices as i1-i2, not 'x-1'"), ("-1-2", "not '-1-2'"),
                             ("99-1", "token 99 is out of range")):
        fields = rows[1].split("\t")
        data.write_text("\n".join([rows[0], "\t".join([*fields[:2], indices, *fields[3:]]), rows[2]]) + "\n")
        with pytest.raises(InputError, match=f"^{re.escape(str(data))}:2: .*{re.escape(problem)}"):
            read_wic(data)
        result = CliRunner().invoke(app, ["eval", "wic", str(data), str(data), "--model", "fake:test"])
        assert result.exit_code == 1 and "unexpected" not in result.output and f"{data}:2:" in result.output
    _, test = wsd_dirs
    words = test / "bank" / "test.data.txt"
    lines = words.read_text().splitlines()
    words.write_text("\n".join(["40\t" + lines[0].split("\t", 1)[1], *lines[1:]]) + "\n")
    with pytest.raises(InputError, match=f"^{re.escape(str(words))}:1: token 40 is out of range"):
        read_coarsewsd(test)


@pytest.mark.slow
def test_real_model_beats_the_majority_sense_on_a_small_coarsewsd_split(tmp_path: Path, minilm) -> None:
    splitter = SHARED / "tools" / "split_coarsewsd.py"
    if not splitter.is_file() or not (SHARED / "data" / "coarsewsd20").is_dir():
        pytest.skip("../shared CoarseWSD-20 data is not available")
    subprocess.run([sys.executable, str(splitter), str(tmp_path / "dev")], check=True)
    words = ["crane", "seal"]
    test = read_coarsewsd(tmp_path / "dev" / "test", words, limit=20, seed=0)
    train = read_coarsewsd(tmp_path / "dev" / "train", words, limit=50, seed=0)
    report = evaluate_coarsewsd(train, test, EncoderSettings(), encoder=minilm)
    baseline = np.mean([s.majority_baseline for s in report.per_word.values()])
    assert report.mean_accuracy >= baseline + 15, (report.mean_accuracy, baseline)
