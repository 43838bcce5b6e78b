"""The command line through typer's CliRunner, with the fake encoder (model "fake:test")."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, bank_corpus: Path) -> Path:
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(index), "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


def test_query_json_contract(built: Path) -> None:
    result = runner.invoke(app, ["query", "Money in the [[bank]] today.", "--index", str(built), "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    for hit in hits:
        assert {"score", "word", "sentence", "start", "end", "document", "occurrence_id"} <= hit.keys()
        assert hit["sentence"][hit["start"]:hit["end"]] == hit["word"]


def test_query_text_and_csv(built: Path) -> None:
    text = runner.invoke(app, ["query", "river [[bank]]", "--index", str(built), "-k", "2"])
    assert text.exit_code == 0 and "bank" in text.stdout and "score" in text.stdout
    as_csv = runner.invoke(app, ["query", "river [[bank]]", "--index", str(built), "-k", "2", "--csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 2 and rows[0]["word"] == "bank"


def test_usages_sorted_by_right_context(built: Path) -> None:
    result = runner.invoke(app, ["usages", "bank", "--index", str(built), "--sort", "right", "--json"])
    hits = json.loads(result.stdout)
    rights = [h["sentence"][h["end"]:].split()[0].lower() for h in hits]
    assert len(hits) == 6 and rights == sorted(rights)


def test_info_json_contract(built: Path) -> None:
    info = json.loads(runner.invoke(app, ["info", "--index", str(built), "--json"]).stdout)
    for key in ("documents", "sentences", "occurrences", "model", "dim", "layers", "combine", "pooling",
                "index_type", "bytes_vectors", "bytes_meta"):
        assert key in info
    assert info["model"] == "fake:test" and info["occurrences"] > 0


def test_compare_json_shape(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("The bank lent money.\nThe river bank flooded.\n\nA [[bank]] of fog.\n")
    result = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--json"])
    data = json.loads(result.stdout)
    assert len(data["sentences"]) == 3 and len(data["similarity"]) == 3
    assert data["similarity"][0][0] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("args, message", [
    (["query", "no marker", "--index", "{idx}"], "double brackets"),
    (["query", "[[a]] and [[b]]", "--index", "{idx}"], "exactly one"),
    (["query", "the [[zebra]]", "--index", "{idx}"], "--any-word"),
    (["info", "--index", "{missing}"], "no index"),
    (["index", "{missing}", "--index", "{idx}", "--model", "fake:test"], "no such file"),
    (["index", "{corpus}", "--index", "{idx}", "--pooling", "first"], "pooling"),
])
def test_user_errors_are_one_line_without_traceback(built: Path, bank_corpus: Path, tmp_path: Path,
                                                    args: list[str], message: str) -> None:
    filled = [a.format(idx=built, missing=tmp_path / "missing", corpus=bank_corpus) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code == 1
    # An uncaught exception also exits 1 under CliRunner, with nothing in the output: check its kind.
    assert message in result.output and isinstance(result.exception, SystemExit)


def test_every_command_has_an_example() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert "Example:" in (command.help or ""), name


def test_index_reports_skipped_files(tmp_path: Path, bank_corpus: Path) -> None:
    (bank_corpus / "empty.txt").write_text("")
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert result.exit_code == 0
    assert "Indexed 1 document (" in result.output and "empty.txt: empty document" in result.output
