"""CSV exports never hand a spreadsheet a formula: the CLI's --csv and the page's export, one rule."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex, kwic
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.csvsafe import FORMULA_STARTS, SafeWriter, neutralise, records_to_csv
from sensesearch.server import create_app

runner = CliRunner()

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = [
    {"id": "=HYPERLINK(\"http://evil.example\",\"x\")", "text": "=1+2 then the bank paid out."},
    {"id": "+cmd|' /C calc'!A0", "text": "@SUM(A1) the bank -2+3 and more."},
    {"id": "-plain", "text": "\tTabbed start near the bank\r=after a return."},
]


@pytest.fixture
def hostile_index(tmp_path: Path, fake_settings: EncoderSettings) -> Path:
    corpus = tmp_path / "hostile.jsonl"
    corpus.write_text("".join(json.dumps(record) + "\n" for record in HOSTILE))
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=fake_settings) as index:
        index.add([corpus])
    return target


def test_each_formula_start_is_neutralised_and_numbers_are_kept() -> None:
    for start in FORMULA_STARTS:
        assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert neutralise("bank") == "bank" and neutralise("a=b") == "a=b" and neutralise("'quoted") == "'quoted"
    assert neutralise(-0.25) == -0.25 and neutralise(3) == 3 and neutralise(None) == ""
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["=cmd", -1.5, "x,\"y\"", "@a"])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'=cmd", "-1.5", "x,\"y\"", "'@a"]]
    assert records_to_csv([{"a": "-x"}], ["a", "b"]) == '"a","b"\n"\'-x",""\n'
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["text\r=cmd()", "next"])  # a lone CR would start a new spreadsheet row
    assert buffer.getvalue() == '"text\r=cmd()","next"\n'



def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _no_formula_cells(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for field, value in row.items():
            if field in ("score", "start", "end", "occurrence_id"):
                assert value == "" or float(value) == float(value)  # numbers stay numbers, negative ones too
            else:
                assert not value.startswith(FORMULA_STARTS), (field, value)


@pytest.mark.parametrize("command", [["usages", "bank"], ["query", "the [[bank]] paid"]])
def test_cli_csv_neutralises_labels_words_and_contexts(hostile_index: Path, command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--index", str(hostile_index), "--csv"])
    assert result.exit_code == 0, result.output
    rows = _cells(result.stdout)
    assert len(rows) == 3
    _no_formula_cells(rows)
    by_document = {row["document"]: row for row in rows}
    assert set(by_document) == {"'" + record["id"] for record in HOSTILE}
    assert by_document["'" + HOSTILE[0]["id"]]["sentence"].startswith("'=1+2")
    assert by_document["'" + HOSTILE[1]["id"]]["left"] == "'@SUM(A1) the"
    assert by_document["'" + HOSTILE[1]["id"]]["right"] == "'-2+3 and more."
    assert by_document["'" + HOSTILE[0]["id"]]["left"] == "'=1+2 then the"


def test_kwic_to_csv_matches_the_cli(hostile_index: Path) -> None:
    with SenseIndex.open(hostile_index, read_only=True) as index:
        text = kwic.to_csv(index.usages("bank"))
    result = CliRunner().invoke(app, ["usages", "bank", "--index", str(hostile_index), "--csv"])
    assert result.stdout == text


@pytest.mark.skipif(not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)), reason="needs /usr/bin/chromium")
def test_page_export_follows_the_same_rule(hostile_index: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from .test_server_browser import CHROMIUM_ARGS, running

    with SenseIndex.open(hostile_index, read_only=True) as index:
        expected = _cells(kwic.to_csv(index.usages("bank")))
    with running(create_app(hostile_index)) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(url)
            sync_api.expect(page.locator("#info")).to_contain_text("3 documents")
            page.fill("#text", "bank")
            page.click("#usages")
            sync_api.expect(page.locator("#rows tr")).to_have_count(3)
            with page.expect_download() as download:
                page.click("#export")
            exported = _cells(Path(download.value.path()).read_bytes().decode("utf-8"))
        finally:
            browser.close()
    _no_formula_cells(exported)
    for field in ("document", "word", "sentence", "start", "end", "occurrence_id"):
        assert [row[field] for row in exported] == [row[field] for row in expected], field
    assert [row["left"].startswith("'") for row in exported] == [row["left"].startswith("'") for row in expected]


def test_documents_and_compare_csv_are_neutralised(hostile_index: Path, tmp_path: Path) -> None:
    listed = CliRunner().invoke(app, ["documents", "--index", str(hostile_index), "--csv"])
    assert listed.exit_code == 0, listed.output
    labels = [row[0] for row in list(csv.reader(io.StringIO(listed.stdout)))[1:]]
    assert labels and all(label[0] not in FORMULA_STARTS for label in labels)
    assert any(label.startswith("'=HYPERLINK") for label in labels)
    lines = tmp_path / "lines.txt"
    lines.write_text("=cmd the bank paid.\n@SUM the river bank.\n")
    compared = CliRunner().invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--csv"])
    assert compared.exit_code == 0, compared.output
    sentences = [row[1] for row in list(csv.reader(io.StringIO(compared.stdout)))[1:]]
    assert sentences == ["'=cmd the bank paid.", "'@SUM the river bank."]


def test_csv_rows_of_one_record_id_in_two_files_name_their_files(tmp_path: Path) -> None:
    """`usages --csv`, `sense tags --csv` and `senses --csv` had a document column and no path: the records r1 of
    a/x.jsonl and of b/x.jsonl were rows alike but for their text. A last column, `path`, names the file."""
    for folder, text in (("a", "The bank lent money."), ("b", "Reeds grew on the muddy bank.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.jsonl").write_text(json.dumps({"id": "r1", "text": text}) + "\n")
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(tmp_path / "a"), str(tmp_path / "b"), "--index", index, "--model",
                               "fake:test", "-q"]).exit_code == 0
    with SenseIndex.open(index) as target:
        target.sense("bank").add("finance", ["The [[bank]] lent money at a low rate."])
    files = {str(tmp_path / "a" / "x.jsonl"), str(tmp_path / "b" / "x.jsonl")}
    for args in (["usages", "bank"], ["sense", "tags", "bank"], ["senses", "bank", "-k", "1"]):
        result = runner.invoke(app, [*args, "--index", index, "--csv"])
        assert result.exit_code == 0, result.output
        rows = _cells(result.stdout)
        assert list(rows[0])[-1] == "path", args
        assert [r["document"] for r in rows] == ["r1", "r1"] and {r["path"] for r in rows} == files, args
    assert kwic.CSV_FIELDS[-1] == "path" and kwic.LISTING_FIELDS == kwic.CSV_FIELDS[1:]


def test_senses_csv_lists_every_usage_with_its_sense_and_refuses_json_too(tmp_path: Path, bank_corpus: Path) -> None:
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(bank_corpus), "--index", index, "--model", "fake:test", "-q"]).exit_code == 0
    result = runner.invoke(app, ["senses", "bank", "-k", "2", "--csv", "--index", index])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    report = json.loads(runner.invoke(app, ["senses", "bank", "-k", "2", "--json", "--index", index]).stdout)
    assert len(rows) == report["n_usages"] > 0 and {r["sense"] for r in rows} == {"1", "2"}
    assert all(r["sentence"][int(r["start"]):int(r["end"])] == r["word"] and r["word"].lower() == "bank" for r in rows)
    # The columns of `usages --csv` (left, right and occurrence_id were missing), the sense for the score.
    assert list(rows[0]) == ["sense", "document", "left", "word", "right", "sentence", "start", "end", "occurrence_id",
                             "path"]
    assert {r["path"] for r in rows} == {str(tmp_path / "corpus" / "bank.txt")}
    ids = {a["occurrence_id"] for a in report["assignments"]}
    assert {int(r["occurrence_id"]) for r in rows} == ids
    assert all(r["sentence"].startswith(r["left"]) and r["sentence"].endswith(r["right"]) for r in rows)
    both = runner.invoke(app, ["senses", "bank", "--csv", "--json", "--index", index])
    assert both.exit_code == 2 and "choose one of --json and --csv" in both.output


@pytest.mark.parametrize("args", [["usages", "bank"], ["query", "the [[bank]]"], ["senses", "bank"], ["documents"],
                                  ["compare", "bank", "lines.txt"], ["sense", "tags", "bank"]])
def test_json_with_csv_is_a_usage_error_for_every_command(tmp_path: Path, args: list[str]) -> None:
    """`sense tags --json --csv` printed JSON and exited 0; the others refused, each with its own check."""
    result = runner.invoke(app, [*args, "--json", "--csv", "--index", str(tmp_path / "none")][
        :None if args[0] != "compare" else -2])
    assert result.exit_code == 2 and "choose one of --json and --csv" in result.output, result.output
