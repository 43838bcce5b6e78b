"""JSON Lines split on "\\n" only, skip messages with physical line numbers, printed once; colliding ids."""

from __future__ import annotations

import json
from pathlib import Path

from sensesearch.corpus import read_jsonl
from sensesearch.records import Document, Skipped

from .robust_util import run_cli


def _write(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    return path


def _record(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


def test_line_separators_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", [
        _record(id="r1", text="The bank\u2028of the river."),
        _record(id="r2", text="Money\u0085in the bank."),
        _record(id="r3", text="Other separators \u2029 \x1c \x1d \x1e \x0b \x0c stay inside."),
    ])
    items = list(read_jsonl(path))
    assert [type(i) for i in items] == [Document] * 3
    assert [i.label for i in items] == ["r1", "r2", "r3"]
    assert items[0].text == "The bank\u2028of the river." and items[1].text == "Money\u0085in the bank."


def test_skip_messages_name_the_physical_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.jsonl", [
        _record(id="r1", text="A line\u2028separator."),
        "{not json",
        "",
        _record(id="r4", text="Windows line end.") + "\r",
        _record(nope="no text"),
    ])
    items = list(read_jsonl(path))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [s.path for s in skipped] == [f"{path}:2", f"{path}:5"]
    assert [i.label for i in items if isinstance(i, Document)] == ["r1", "r4"]


def test_number_and_string_ids_that_collide_say_which_won(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_record(id=7, text="Seven as a number."),
                                         _record(id="7", text="Seven as a string.")])
    items = list(read_jsonl(path))
    assert isinstance(items[0], Document) and items[0].text == "Seven as a number."
    assert isinstance(items[1], Skipped) and items[1].path == f"{path}:2"
    assert 'id "7"' in items[1].reason and "id 7 on line 1" in items[1].reason and "line 1 was kept" in items[1].reason


def test_ids_that_are_not_strings_are_named_as_json_spells_them_and_an_empty_one_by_its_line(tmp_path: Path) -> None:
    """`"id": {"x": 1}` was labelled {'x': 1} (Python's spelling), `true` True, and `"id": ""` gave a document with an
    empty label, a blank cell in `documents`; an empty record with an id was skipped as "r9", without its file."""
    path = _write(tmp_path / "c.jsonl", [_record(id={"x": 1}, text="An object id."), _record(id=True, text="True."),
                                         _record(id="", text="An empty id."), _record(id=2.5, text="A float id."),
                                         _record(id="r9", text="")])
    items = list(read_jsonl(path))
    assert [i.label for i in items if isinstance(i, Document)] == ['{"x": 1}', "true", f"{path}:3", "2.5", "r9"]
    result = run_cli("index", path, "--index", tmp_path / "idx", "--model", "fake:test")
    assert result.returncode == 0, result.stderr
    assert f"{path}#r9: empty document" in result.stderr, result.stderr


def test_cli_indexes_three_records_and_prints_each_skip_once(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", [_record(id=1, text="The bank\u2028of the river."),
                                            _record(id=2, text="Money\u0085in the bank."),
                                            _record(id=3, text="A third bank record.")])
    bad = _write(tmp_path / "bad.jsonl", [_record(id=9, text="Fine."), "{broken"])
    result = run_cli("index", good, bad, "--index", tmp_path / "idx", "--model", "fake:test")
    assert result.returncode == 0, result.stderr
    assert "Indexed 4 documents" in result.stderr + result.stdout
    output = result.stderr + result.stdout
    assert output.count("bad.jsonl:2") == 1 and "good.jsonl" not in output


def test_line_files_of_sentences_and_eval_data_cut_at_newline_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sensesearch.cli import app
    from sensesearch.corpus import physical_lines

    assert physical_lines("a\u2028b\r\nc\u0085d\x0ce\n") == ["a\u2028b", "c\u0085d\x0ce"]
    lines = tmp_path / "lines.txt"
    lines.write_text("The bank\u2028of the river.\nMoney in the bank.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--json"])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert json.loads(result.stdout)["sentences"] == ["The bank\u2028of the river.", "Money in the bank."]


def test_files_whose_lines_end_in_a_bare_carriage_return_are_cut_there(tmp_path: Path, fake_settings) -> None:
    """Classic Mac OS line ends: `compare` read such a file as one line (a 1x1 table), while `index` cut it at each;
    JSON Lines and the other line files take the same rule, and a "\r" inside a line of a "\n" file stays."""
    from typer.testing import CliRunner

    from sensesearch import SenseIndex
    from sensesearch.cli import app
    from sensesearch.corpus import physical_lines

    assert physical_lines("a\rb\r") == ["a", "b"] and physical_lines("a\rb\nc\r\n") == ["a\rb", "c"]
    lines = tmp_path / "mac.txt"
    lines.write_bytes(b"The bank lent money.\r\rA [[bank]] of the river.\r")
    result = CliRunner().invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--json"])
    assert result.exit_code == 0 and result.exception is None, result.output
    data = json.loads(result.stdout)
    assert data["sentences"] == ["The bank lent money.", "A bank of the river."] and data["lines"] == [1, 3], data
    records = tmp_path / "mac.jsonl"
    records.write_bytes(b'{"id": "a", "text": "The bank lent money."}\r{"id": "b", "text": "A river bank."}\r')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([records])
        assert report.documents_indexed == 2 and not report.skipped, report


def test_a_record_whose_id_spells_a_file_path_stays_apart_from_that_file(tmp_path: Path, fake_settings,
                                                                         monkeypatch) -> None:
    """A JSONL record with id "c8/a/same.txt" shares the label of the file c8/a/same.txt: `-d c8/a` took the
    record too (documents were filtered by label), and `-d c8/a/same.txt` was refused as ambiguous."""
    from sensesearch import SenseIndex

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c8" / "a").mkdir(parents=True)
    (tmp_path / "c8" / "b").mkdir()
    (tmp_path / "c8" / "a" / "same.txt").write_text("The bank is here.\n")
    (tmp_path / "c8" / "b" / "same.txt").write_text("The river bank is there.\n")
    (tmp_path / "c8" / "tricky.jsonl").write_text('{"id": "c8/a/same.txt", "text": "A bank record."}\n')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add(["c8"])
        sentences = lambda **kw: sorted(h.sentence for h in index.usages("bank", **kw))  # noqa: E731
        assert sentences(documents=["c8/a"]) == ["The bank is here."]
        assert sentences(documents=["c8/a/same.txt"]) == ["The bank is here."]
        assert sentences(documents=["c8/tricky.jsonl"]) == ["A bank record."]
        assert sentences(documents=["c8/tricky.jsonl#c8/a/same.txt"]) == ["A bank record."]
        assert sentences(where=["path=c8/a/*"]) == ["The bank is here."]
