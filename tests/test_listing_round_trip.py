"""What listings print of metadata is pasteable back as a condition: `documents` and `senses --by FIELD` write a key
and a value (conditions.field_as_written, value_as_written) so that `FIELD=VALUE` as printed, read by the condition
parser, keeps the documents holding that value. Shell quoting is the user's business: the text after the shell's is
what is checked here.

Found so: values printed in JSON's quotes ("War, and peace", " lead", "\\u00a0x", "\\"quoted", "true" the text) kept no
document, a printed "War; and peace" was refused as two conditions, "=5" read as the number 5, ">5" as a typo, "a*b",
"[draft]" and "a|b" as globs and alternatives (other documents, or none), and null kept the text "null", not the JSON
null. A text that spells a number or a date ("1990", "1945-01-21") is written bare, as a condition on that number or
date keeps it (with the numbers equal to it, the times of that day), so that years and dates read as such in tables,
JSON and charts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from sensesearch import QueryError, SenseIndex, WordNotFoundError
from sensesearch.bins import value_label
from sensesearch.cli import app
from sensesearch.conditions import (field_as_written, meta_name, parse_conditions, term_kind, term_text,
                                    value_as_written)
from sensesearch.normalize import clean_text, nfc

runner = CliRunner()

FRAGMENTS = [",", ", ", " ", '"', '\\"', "\\", "\\;", ";", "=", "==", "!=", "<", "<=", ">", ">=", "!", "|", "*", "?",
             "[", "]", "[x]", "\u00a0", "\u200b", "\n", "\r\n", "\t", "\u202e", "\u2066", "\u2028", "\ufeff",
             "\u00e9", "e\u0301", "\U0001f600", "\u0627\u0644", "\\u0041", "true", "null", "5", "1e3", "1945-01",
             "{}", "[1, 2]", "meta.", "path", "#"]
"""Pieces of odd values and keys: each alone, and before, inside and after plain text."""

SPECIAL_VALUES: list[Any] = [
    "", "true", "false", "null", "True", "5", "-5", "1.5", "1e3", ".5", "1945", "1945-01-21", "1945-01-21T10:00",
    "1945-01", 5, -5, 1.5, 1.0, 1e3, 9007199254740993, True, False, None, [1, 2], ["a;b", "\u200b"], {"a": 1}, "[1, 2]",
    '{"a": 1}', '"x"', '"', '""', "War, and peace", "War; and peace", "\u00c5", "A\u030a", "ann\u00e9e", "anne\u0301e",
    "\u00a0", "\u200b", " ", "\n", "a  b", "\u0130", "\u01c5", "x" * 30]
"""Values the fragments do not make: booleans and numbers as text and as JSON, lists, empty text, NFD forms."""


def _with_plain(fragment: str) -> list[str]:
    return [fragment, fragment + "x", "x" + fragment + "y", "x" + fragment]


ODD_VALUES = SPECIAL_VALUES + [v for f in FRAGMENTS for v in _with_plain(f) if v not in SPECIAL_VALUES]
ODD_KEYS = list(dict.fromkeys(k for f in FRAGMENTS + ["document", "meta.path", "meta.meta.x", "", "k"]
                              for k in _with_plain(f)))


def _number(value: Any) -> float | None:
    """A JSON number as a number (None for anything else)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _kept_with(printed: Any, stored: Any) -> bool:
    """Whether a condition on the value `printed` keeps a document holding `stored`, by the rule README gives: a
    number keeps that number and text that spells it (white space around it aside), text the text (in NFC), true,
    false and null themselves; a list or an object nothing."""
    if isinstance(printed, (list, dict)):
        return False
    if isinstance(printed, str) and value_as_written(printed) == printed and term_kind(printed) in ("number", "date"):
        return _kept_by_bare(printed, stored)
    if _number(printed) is not None:
        if isinstance(stored, str) and re.fullmatch(r"\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*",
                                                    stored):
            return float(stored) == _number(printed)
        return _number(stored) == _number(printed)
    if isinstance(printed, str):
        return isinstance(stored, str) and nfc(stored) == nfc(printed)
    return type(stored) is type(printed) and stored == printed


def _kept_by_bare(printed: str, stored: Any) -> bool:
    """Whether the number or date a bare text spells, as a condition, keeps `stored` (README): a number keeps the
    numbers and numeric texts equal to it, and a year (1945) also the texts that start as an ISO date in it; a date
    keeps its own text and the texts that start as an ISO date with it (1945-01 keeps 1945-01-21)."""
    starts_as_date = isinstance(stored, str) and re.match(r"[0-9]{4}-[0-9]{2}", stored) is not None
    if term_kind(printed) == "date":
        return isinstance(stored, str) and (nfc(stored) == printed or starts_as_date and stored.startswith(printed))
    year = re.fullmatch(r"[0-9]{4}", printed) is not None
    number = int(printed) if re.fullmatch(r"[-+]?[0-9]+", printed) else float(printed)
    return _kept_with(number, stored) or year and starts_as_date and stored.startswith(printed + "-")


def _index(tmp_path: Path, db_url: str | None, records: list[dict[str, Any]]) -> Path:
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with SenseIndex.create(tmp_path / "idx", model="fake:test", db_url=db_url) as index:
        index.add([tmp_path / "r.jsonl"])
    return tmp_path / "idx"


def _kept(index: SenseIndex, condition: str) -> set[str]:
    try:
        return {h.document for h in index.usages("bank", where=condition, limit=10_000)}
    except WordNotFoundError:
        return set()


def _metadata_cells(index: Path) -> dict[str, str]:
    """Each document's label -> the metadata column of its row in the `documents` table, as printed."""
    listed = runner.invoke(app, ["documents", "--index", str(index)], terminal_width=2_000)
    assert listed.exit_code == 0, listed.output
    rows = [re.fullmatch(r"(d\d+)\s+\S+\s+[\d,]+\s+[\d,]+\s+(.*?)\s*", line) for line in listed.stdout.splitlines()[1:]]
    assert all(rows), listed.stdout
    return {row.group(1): row.group(2) for row in rows if row}


def test_each_value_the_documents_table_prints_keeps_the_documents_holding_it(tmp_path: Path,
                                                                              db_url: str | None) -> None:
    records = [{"id": f"d{n:03}", "text": "The bank stood.", "k": value} for n, value in enumerate(ODD_VALUES)]
    built = _index(tmp_path, db_url, records)
    cells = _metadata_cells(built)
    with SenseIndex.open(built, read_only=True) as index:
        stored = {e.label: e.meta["k"] for e in index.catalog()}
        wrong = {}
        for label, value in stored.items():
            if isinstance(value, (list, dict)):
                continue  # shown, to be read: no condition reads a list or an object (README)
            printed = cells[label]  # "k=VALUE", as the row shows it: the condition to paste
            expected = {other for other, held in stored.items() if _kept_with(value, held)}
            if _kept(index, printed) != expected:
                wrong[printed] = sorted(_kept(index, printed) ^ expected)
    assert not wrong


def test_each_key_the_documents_table_prints_names_that_field(tmp_path: Path, db_url: str | None) -> None:
    records = [{"id": f"d{n:03}", "text": "The bank stood.", key: "x"} for n, key in enumerate(ODD_KEYS)]
    built = _index(tmp_path, db_url, records)
    cells = _metadata_cells(built)
    with SenseIndex.open(built, read_only=True) as index:
        keys = {e.label: next(iter(e.meta)) for e in index.catalog()}
        wrong = {cells[label]: sorted(_kept(index, cells[label])) for label in keys
                 if _kept(index, cells[label]) != {other for other, k in keys.items() if k == keys[label]}}
    assert not wrong
    assert cells["d" + f"{ODD_KEYS.index('path'):03}"] == "meta.path=x"  # the document's path is `path=`


def test_each_bin_senses_by_prints_keeps_the_documents_in_it(tmp_path: Path, db_url: str | None) -> None:
    """`senses --by FIELD` labels each bin of text values as documents spells the value: `FIELD=LABEL` keeps the
    documents of that bin (and, for a number, the text that spells it, as any number condition does)."""
    binned = [v for v in ODD_VALUES if v not in ("", None) and not isinstance(v, (list, dict))]
    records = [{"id": f"d{n:03}", "text": "The bank stood.", "k": value} for n, value in enumerate(binned)]
    built = _index(tmp_path, db_url, records)
    report = runner.invoke(app, ["senses", "bank", "--index", str(built), "--by", "k", "-k", "2", "--json"])
    assert report.exit_code == 0, report.output
    labels = [b["label"] for b in json.loads(report.stdout)["by"]["bins"]]
    assert sorted(labels) == sorted({value_label(v) for v in binned})
    with SenseIndex.open(built, read_only=True) as index:
        stored = {e.label: e.meta["k"] for e in index.catalog()}
        wrong = {}
        for label in labels:
            held = [v for v in stored.values() if value_label(v) == label]
            expected = {d for d, v in stored.items() if _kept_with(held[0], v)}
            if _kept(index, f"k={label}") != expected or any(not _kept_with(held[0], v) for v in held):
                wrong[label] = sorted(_kept(index, f"k={label}") ^ expected)
    assert not wrong


_STORED_TEXT = st.text(st.characters(exclude_categories=["Cs"])).map(lambda t: clean_text(t))


@settings(max_examples=3_000, deadline=None)
@given(key=_STORED_TEXT.map(nfc), value=st.one_of(_STORED_TEXT, st.integers(), st.booleans(), st.none(),
                                                  st.floats(allow_nan=False, allow_infinity=False)))
def test_any_key_and_value_as_written_read_back_as_that_key_and_value(key: str, value: Any) -> None:
    """The parser reads `FIELD=VALUE` as listings write it as one = condition on that key and value: text by
    term_text, exactly, whatever it holds; numbers, true, false and null as those (SQL aside)."""
    (condition,) = parse_conditions(f"{field_as_written(key)}={value_as_written(value)}")
    assert (meta_name(condition.field), condition.op, len(condition.terms)) == (key, "=", 1)
    kind = term_kind(condition.value)
    if isinstance(value, str) and kind in ("number", "date"):  # bare: the condition on what it spells keeps it
        assert condition.value == value
    elif isinstance(value, str):
        assert (kind, term_text(condition.value)) == ("text", value)
    elif value is None or isinstance(value, bool):
        assert (kind, condition.value) == ("null" if value is None else "boolean", json.dumps(value))
    else:
        assert kind == "number" and json.loads(condition.value) == value


def test_a_value_in_json_quotes_is_exactly_that_text_alone_or_among_alternatives(tmp_path: Path) -> None:
    values = {"a": "War, and peace", "b": "5", "c": 5, "d": "a|b", "e": "a", "f": "[x]", "g": "x", "h": None,
              "i": "null", "j": "1945-01-21", "l": "1945-01-21T10:00", "m": " x"}
    built = _index(tmp_path, None, [{"id": k, "text": "The bank stood.", "k": v} for k, v in values.items()])
    with SenseIndex.open(built, read_only=True) as index:
        found = {w: "".join(sorted(_kept(index, w))) for w in (
            'k="War, and peace"', 'k="5"', "k=5", 'k="a|b"', "k=a|b", 'k="a"|"[x]"', "k=[x]", "k=null", 'k="null"',
            "k!=null", 'k="1945-01-21"', "k=1945-01-21", 'k=" x"', 'k<"b"', 'document="a"|c')}
    assert found == {
        'k="War, and peace"': "a", 'k="5"': "b", "k=5": "bc", 'k="a|b"': "d", "k=a|b": "e", 'k="a"|"[x]"': "ef",
        "k=[x]": "g", "k=null": "h", 'k="null"': "i", "k!=null": "abcdefgijlm", 'k="1945-01-21"': "j",
        "k=1945-01-21": "jl", 'k=" x"': "m", 'k<"b"': "abdefjlm", 'document="a"|c': "ac"}


def test_a_path_in_json_quotes_is_that_path_not_a_glob(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in ("[x].txt", "x.txt", "a|b.txt", "a.txt"):
        (corpus / name).write_text("The bank stood.\n")
    with SenseIndex.create(tmp_path / "idx", model="fake:test") as index:
        index.add([corpus])
        found = {w: sorted(Path(d).name for d in _kept(index, w))
                 for w in ('path="c/[x].txt"', "path=c/[x].txt", 'path="c/a|b.txt"', 'path="c/a.txt"|c/x.txt')}
    assert found == {'path="c/[x].txt"': ["[x].txt"], "path=c/[x].txt": ["x.txt"], 'path="c/a|b.txt"': ["a|b.txt"],
                     'path="c/a.txt"|c/x.txt': ["a.txt", "x.txt"]}


@pytest.mark.parametrize("text", ['k="x', 'k="x"y', 'k="a"|"b', 'k<"x', 'k=""x'])
def test_a_value_that_opens_json_quotes_it_does_not_close_is_refused_naming_the_quoting(text: str) -> None:
    with pytest.raises(QueryError, match="JSON string"):
        parse_conditions(text)



def test_years_and_dates_held_as_text_are_labelled_bare_in_tables_json_and_charts(tmp_path: Path) -> None:
    """JSON dates are text: `senses --by date` had labelled every bin "\\"1945-01-20\\"" in its table, --json, --csv
    and on the chart's axis, and `documents` had shown year="1990"."""
    dates = ["1945-01-20", "1945-01-20", "1949-01-20", "1990"]
    built = _index(tmp_path, None, [{"id": f"d{n}", "text": "The bank stood.", "date": d} for n, d in enumerate(dates)])
    report = runner.invoke(app, ["senses", "bank", "--index", str(built), "--by", "date", "-k", "2", "--json"])
    assert report.exit_code == 0, report.output
    assert [b["label"] for b in json.loads(report.stdout)["by"]["bins"]] == ["1945-01-20", "1949-01-20", "1990"]
    assert sorted(_metadata_cells(built).values()) == ["date=1945-01-20", "date=1945-01-20", "date=1949-01-20",
                                                        "date=1990"]
