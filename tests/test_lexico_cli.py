"""--lemma, --where and senses --by through the command line (issue 14), with the fake encoder."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app

runner = CliRunner()
MONEY = "The bank lent money to the farmers at a low rate."
RIVER = "We had a picnic on the grassy bank of the river."


@pytest.fixture
def built(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "banks.txt").write_text("The bank raised its rates.\nTwo banks merged.\nThe pilot banked the plane.\n")
    lines = [f"{year}-{i}.txt" for year in (1910, 1920, 1950, 1960) for i in range(2)]
    for name in lines:
        (corpus / name).write_text(RIVER if name < "1930" else MONEY)
    (corpus / "metadata.csv").write_text("file,year,party\n" + "".join(
        f"{name},{name[:4]},{'Democratic' if name.endswith('0.txt') else 'Whig'}\n" for name in lines))
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


def _words(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return [hit["word"] for hit in json.loads(result.stdout)]


def test_usages_lemma_lists_every_form_and_plain_only_the_word(built: Path) -> None:
    plain = runner.invoke(app, ["usages", "bank", "--index", str(built), "--json", "--where", "path=*banks.txt"])
    widened = runner.invoke(app, ["usages", "bank", "--lemma", "--index", str(built), "--json",
                                  "--where", "path=*banks.txt"])
    assert _words(plain) == ["bank"]
    assert _words(widened) == ["bank", "banks", "banked"]


def test_query_with_lemma_and_where(built: Path) -> None:
    result = runner.invoke(app, ["query", "the [[banks]] of the river", "--lemma", "--index", str(built), "--json",
                                 "-k", "20", "--where", "year<1930", "--where", "party=Democratic"])
    hits = json.loads(result.stdout)
    assert _words(result) == ["bank", "bank"]
    assert sorted(h["document"].rsplit("/", 1)[-1] for h in hits) == ["1910-0.txt", "1920-0.txt"]


def test_malformed_where_is_a_usage_error_before_opening_the_index(tmp_path: Path) -> None:
    result = runner.invoke(app, ["usages", "bank", "--index", str(tmp_path / "nothing"), "--where", "year"])
    assert result.exit_code == 2 and "FIELD OP VALUE" in result.output


def test_where_parts_conditions_at_semicolons_as_the_page_and_the_api_do(built: Path, tmp_path: Path) -> None:
    """`--where 'a;b'` had been one text comparison, matching nothing (or the wrong documents) without a word."""
    one = runner.invoke(app, ["usages", "bank", "--index", str(built), "--json", "--where", "path=*banks.txt;path!=x"])
    two = runner.invoke(app, ["usages", "bank", "--index", str(built), "--json", "--where", "path=*banks.txt",
                              "--where", "path!=x"])
    assert one.exit_code == 0 and json.loads(one.stdout) == json.loads(two.stdout) != []
    stray = runner.invoke(app, ["usages", "bank", "--index", str(tmp_path / "nothing"), "--where", "title=a; b"])
    assert stray.exit_code == 2 and "\\;" in stray.output


def test_senses_by_decade_as_table_csv_json_and_chart(built: Path, tmp_path: Path) -> None:
    base = ["senses", "bank", "-k", "2", "--by", "decade", "--index", str(built), "--where", "path=*/19*"]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "1910s" in table.stdout and "1960s" in table.stdout and "100% (2)" in table.stdout
    # A run of empty bins is one row of the table (the CSV and JSON keep every bin).
    assert "1930s – 1940s" in table.stdout and "1940s  " not in table.stdout.replace("1930s – 1940s", "")
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*base, "--csv"]).stdout)))
    assert [r["bin"] for r in rows] == ["1910s", "1920s", "1930s", "1940s", "1950s", "1960s"]
    assert [r["usages"] for r in rows] == ["2", "2", "0", "0", "2", "2"]
    data = json.loads(runner.invoke(app, [*base, "--json"]).stdout)
    assert data["by"]["by"] == "decade" and data["n_usages"] == 8
    assert {b["label"]: b["shares"] for b in data["by"]["bins"]}["1930s"] == {"1": None, "2": None}
    chart = tmp_path / "chart.png"
    plotted = runner.invoke(app, [*base, "--plot", str(chart), "--chart", "bars"])
    assert plotted.exit_code == 0 and chart.read_bytes()[:4] == b"\x89PNG"
    wrong = runner.invoke(app, [*base, "--chart", "pie"])
    assert wrong.exit_code == 2


def test_the_usages_without_a_value_are_counted_in_words(built: Path) -> None:
    table = runner.invoke(app, ["senses", "bank", "-k", "2", "--by", "decade", "--index", str(built)])
    assert table.exit_code == 0, table.output
    assert "1 usage comes from documents without a value for decade." in table.stdout, table.stdout
    # --csv had left it out: stdout stays the CSV, and the count is said on stderr.
    sheet = runner.invoke(app, ["senses", "bank", "-k", "2", "--by", "decade", "--csv", "--index", str(built)])
    assert sheet.exit_code == 0, sheet.output
    assert sheet.stdout.startswith('"bin","start"') and "without a value" not in sheet.stdout
    assert "1 usage comes from documents without a value for decade." in sheet.stderr


def test_lemma_language_is_fixed_when_the_index_is_made(built: Path, tmp_path: Path) -> None:
    extra = tmp_path / "more.txt"
    extra.write_text("Die Häuser sind alt.\n")
    other = runner.invoke(app, ["index", str(extra), "--index", str(built), "--lemma-language", "de", "--quiet"])
    assert other.exit_code == 1 and "keeps lemmas for 'en'" in other.output
    unknown = runner.invoke(app, ["index", str(extra), "--index", str(tmp_path / "new"), "--model", "fake:test",
                                  "--lemma-language", "xx", "--quiet"])
    assert unknown.exit_code == 2 and "no lemmatiser for language xx" in unknown.output
    assert not (tmp_path / "new" / "config.json").exists()
    same = runner.invoke(app, ["index", str(extra), "--index", str(built), "--lemma-language", "en", "--quiet"])
    assert same.exit_code == 0, same.output


def test_senses_by_document_draws_a_line_break_in_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bins of files "a\nb.txt" and "a b.txt" were two table rows "c/a b.txt": the table's cells flatten white
    space, so the line break is drawn (␊) before."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a\nb.txt").write_text(RIVER + "\n")
    (tmp_path / "c" / "a b.txt").write_text(MONEY + "\n")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["index", "c", "--index", "idx", "--model", "fake:test", "-q"]).exit_code == 0
    result = runner.invoke(app, ["senses", "bank", "-k", "2", "--by", "document", "--index", "idx"])
    assert result.exit_code == 0, result.output
    rows = [line.split("  ")[0].strip() for line in result.stdout.splitlines() if "c/a" in line]
    assert sorted(rows) == ["c/a b.txt", "c/a\u240ab.txt"], result.stdout
