"""Metadata sidecars for plain-text corpora (issue 14 item 2): metadata.csv next to the files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.errors import InputError
from sensesearch.sidecar import read_sidecar

from .conftest import write_look_alike_corpus

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def speeches(tmp_path: Path) -> Path:
    folder = tmp_path / "speeches"
    folder.mkdir()
    (folder / "1945-Truman.txt").write_text("The bank of the river.\n")
    (folder / "1981-Reagan.txt").write_text("The bank raised rates.\n")
    (folder / "metadata.csv").write_text("file,year,president,score\n1945-Truman.txt,1945,Truman,0.5\n"
                                         "1981-Reagan.txt,1981,Reagan,\n")
    return folder


def test_sidecar_fields_become_typed_document_metadata(tmp_path: Path, speeches: Path,
                                                       fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([speeches])
        hits = index.usages("bank")
        later = index.usages("bank", where=["year>=1950"])
    assert report.documents_indexed == 2 and not report.skipped
    assert [h.meta for h in hits] == [{"year": 1945, "president": "Truman", "score": 0.5},
                                      {"year": 1981, "president": "Reagan"}]
    assert [h.meta["president"] for h in later] == ["Reagan"]


def test_an_integer_cell_longer_than_python_converts_stays_text(tmp_path: Path,
                                                               fake_settings: EncoderSettings) -> None:
    """A 5,000-digit cell had failed the whole run as "unexpected ValueError" (Python converts at most 4,300
    digits); it is kept as written, and a shorter whole number is still a number."""
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.txt").write_text("The bank rose.\n")
    (folder / "metadata.csv").write_text(f"file,serial,year\na.txt,{'7' * 5000},1945\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        assert index.add([folder]).documents_indexed == 1
        assert index.usages("bank")[0].meta == {"serial": "7" * 5000, "year": 1945}


def test_editing_a_row_replaces_the_document_so_fields_stay_true(tmp_path: Path, speeches: Path,
                                                                 fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([speeches])
        (speeches / "metadata.csv").write_text("file,year,president\n1945-Truman.txt,1946,Truman\n"
                                               "1981-Reagan.txt,1981,Reagan\n")
        again = index.add([speeches])
        years = [h.meta["year"] for h in index.usages("bank")]
    assert again.documents_replaced == 1 and again.documents_unchanged == 1
    assert sorted(years) == [1946, 1981]


def test_editing_a_jsonl_records_fields_replaces_it_so_fields_stay_true(tmp_path: Path,
                                                                       fake_settings: EncoderSettings) -> None:
    """A JSONL record's hash covered its text only: a year edited alone was "unchanged" for ever after."""
    records = tmp_path / "r.jsonl"
    records.write_text('{"id": "r1", "year": 1900, "text": "The bank closed."}\n'
                       '{"id": "r2", "year": 1950, "text": "The bank opened."}\n')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([records])
        records.write_text('{"id": "r1", "year": 2000, "text": "The bank closed."}\n'
                           '{"id": "r2", "year": 1950, "text": "The bank opened."}\n')
        again = index.add([records])
        assert again.documents_replaced == 1 and again.documents_unchanged == 1
        assert [h.document for h in index.usages("bank", where=["year=2000"])] == ["r1"]
        assert index.add([records]).documents_unchanged == 2


def test_a_broken_sidecar_skips_its_files_with_the_reason(tmp_path: Path, speeches: Path,
                                                           fake_settings: EncoderSettings) -> None:
    (speeches / "metadata.csv").write_text("name,year\n1945-Truman.txt,1945\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([speeches])
    assert report.documents_indexed == 0 and len(report.skipped) == 2
    assert "'file' column" in report.skipped[0].reason


def test_read_sidecar_reports_the_bad_line(tmp_path: Path) -> None:
    (tmp_path / "metadata.csv").write_text("file,year\na.txt,1900,extra\n")
    with pytest.raises(InputError, match="metadata.csv:2"):
        read_sidecar(tmp_path / "metadata.csv")


@pytest.mark.parametrize(("sidecar", "message"), [
    ("file,year,party,year\na.txt,1901,Whig,1999\n", r"names 'year' twice \(columns 2 and 4\)"),
    ("file,year ,year\na.txt,1901,1999\n", r"names 'year' twice \(columns 2 and 3\)"),  # trimmed, they are one
    ("file,file\na.txt,b.txt\n", "names 'file' twice"),
    ("file,first name,,year\na.txt,Ann,emp,1901\n", r"metadata.csv:2: a value in column 3, which the header"),
])
def test_a_column_named_twice_or_a_value_in_an_unnamed_one_is_refused_naming_it(tmp_path: Path, sidecar: str,
                                                                                message: str) -> None:
    # The last of two "year" columns had been taken (1999, the 1901 dropped) and a value under a column without a
    # name dropped, both without a word.
    (tmp_path / "metadata.csv").write_text(sidecar)
    with pytest.raises(InputError, match=message):
        read_sidecar(tmp_path / "metadata.csv")


def test_a_file_given_two_rows_skips_the_folder_naming_both_lines(tmp_path: Path, speeches: Path,
                                                                  fake_settings: EncoderSettings) -> None:
    """The last of two rows naming one file had been taken (1999 stored, 1945 dropped) without a word; names are
    compared as the rows name files, trimmed and in NFC."""
    (speeches / "metadata.csv").write_text("file,year\n1945-Truman.txt,1945\n1981-Reagan.txt,1981\n"
                                           " 1945-Truman.txt ,1999\n")
    with pytest.raises(InputError, match=r"metadata.csv:4: a second row for '1945-Truman.txt', whose row is line 2: "
                                         "give each file one row"):
        read_sidecar(speeches / "metadata.csv")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([speeches])
    assert report.documents_indexed == 0 and len(report.skipped) == 2
    assert all("metadata.csv:4: a second row for '1945-Truman.txt', whose row is line 2" in each.reason
               for each in report.skipped)
    (speeches / "metadata.csv").write_text("file,year\ncafe\u0301.txt,1945\ncaf\u00e9.txt,1999\n")
    with pytest.raises(InputError, match=r"metadata.csv:3: a second row for 'caf\u00e9.txt', whose row is line 2"):
        read_sidecar(speeches / "metadata.csv")


@pytest.mark.parametrize(("sidecar", "message"), [
    ('file,title\na.txt,"War\nb.txt,x\n', r"metadata.csv:3: unexpected end of data \(a quote left open\?\)"),
    ("file,t\na.txt," + "x" * 200_000 + "\n", "metadata.csv:2: field larger than field limit"),
    ('file,t\na.txt,"x"y\n', "metadata.csv:2: ',' expected after"),
])
def test_a_row_the_csv_module_cannot_read_is_an_input_error_naming_its_line(tmp_path: Path, sidecar: str,
                                                                           message: str) -> None:
    # A quote left open had folded the rows after it into one cell (b.txt's row lost without a word), and a huge
    # cell failed as a raw csv.Error.
    (tmp_path / "metadata.csv").write_text(sidecar)
    with pytest.raises(InputError, match=message):
        read_sidecar(tmp_path / "metadata.csv")
    (tmp_path / "metadata.csv").write_text("file,height\na.txt,5'10\"\n")  # a quote inside a bare cell is text
    assert read_sidecar(tmp_path / "metadata.csv") == {"a.txt": {"height": "5'10\""}}


def test_an_unnamed_column_without_values_and_blank_rows_are_no_error(tmp_path: Path) -> None:
    (tmp_path / "metadata.csv").write_text("file, first name ,year,\na.txt, Ann ,1901,\n\n,,,\nb.txt,,1950\n")
    assert read_sidecar(tmp_path / "metadata.csv") == {"a.txt": {"first name": "Ann", "year": 1901},
                                                       "b.txt": {"year": 1950}}


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_quoted_cells_keep_their_line_breaks_and_separators(tmp_path: Path, ending: str) -> None:
    # str.splitlines had cut the rows at U+2028 and at a quoted line break, and dropped both from the cells.
    (tmp_path / "metadata.csv").write_text(ending.join(["file,title", 'a.txt,"War\u2028Peace"', 'b.txt,"two\nlines"',
                                                       "c.txt,1945", ""]), newline="")
    assert read_sidecar(tmp_path / "metadata.csv") == {"a.txt": {"title": "War\u2028Peace"},
                                                       "b.txt": {"title": "two\nlines"}, "c.txt": {"title": 1945}}


def test_bundled_state_union_sidecar_names_every_address() -> None:
    folder = REPO / "corpora" / "state_union"
    rows = list(csv.DictReader((folder / "metadata.csv").open()))
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.glob("*.txt"))
    assert all(r["file"].startswith(r["year"]) and r["file"][5:].startswith(r["president"].split()[-1][:4])
               or "Bush" in r["file"] for r in rows)
    assert {r["party"] for r in rows} == {"Democratic", "Republican"}


def test_documents_no_longer_read_from_their_paths_are_named_not_removed(tmp_path: Path,
                                                                           fake_settings: EncoderSettings) -> None:
    """A file deleted from an indexed folder, or a record from a JSONL file, kept answering queries after the next
    `index` of the same paths, and nothing said so."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The bank rose.\n")
    (corpus / "b.txt").write_text("The bank fell.\n")
    (corpus / "r.jsonl").write_text('{"id": "r1", "text": "The bank closed."}\n{"id": "r2", "text": "A bank."}\n')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        assert index.add([corpus]).absent == ()
        (corpus / "b.txt").unlink()
        (corpus / "r.jsonl").write_text('{"id": "r1", "text": "The bank closed."}\n')
        again = index.add([corpus])
        assert sorted(again.absent) == sorted([str(corpus / "b.txt"), "r2"]) and again.documents_unchanged == 2
        assert len(index.catalog()) == 4  # named, never removed by an append
        assert index.add([corpus / "a.txt"]).absent == ()  # one file given: only what lies under it counts
    result = CliRunner().invoke(app, ["index", str(corpus), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "Not read this time, still indexed: 2 documents" in " ".join(result.output.split())


def test_records_of_one_id_gone_from_two_files_are_named_apart(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """Records "r1" gone from a/x.jsonl and from b/x.jsonl were listed as "r1, r1": one document twice, to read."""
    corpus = write_look_alike_corpus(tmp_path / "c")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        for folder in ("a", "b"):
            (corpus / folder / "x.jsonl").write_text('{"id": "r2", "text": "A bank."}\n')
        again = index.add([corpus])
    assert sorted(zip(again.absent, again.absent_paths)) == [("r1", str(corpus / f / "x.jsonl"))
                                                             for f in ("a", "b")]
    for folder in ("a", "b"):
        (corpus / folder / "x.jsonl").write_text('{"id": "r3", "text": "A bank."}\n')
    result = CliRunner().invoke(app, ["index", str(corpus), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    listed = " ".join(result.output.split()).split("indexed before from these paths (")[1].split(")")[0]
    assert sorted(listed.split(", ")) == ["'a/x.jsonl#r1'", "'a/x.jsonl#r2'", "'b/x.jsonl#r1'", "'b/x.jsonl#r2'"], listed


def test_records_stored_with_a_text_only_hash_are_unchanged_while_their_fields_are(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index made before a record's hash covered its fields stored the text's hash alone: the next `index` of the
    same file must not encode every such record anew, nor miss a field edited since."""
    from sensesearch import sidecar

    records = tmp_path / "r.jsonl"
    records.write_text('{"id": "r1", "year": 1900, "text": "The bank closed."}\n'
                       '{"id": "r2", "year": 1900, "text": "The bank opened."}\n')
    with monkeypatch.context() as before:
        before.setattr(sidecar, "hash_with_fields", lambda text_hash, fields: text_hash)  # as the older code hashed
        with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
            index.add([records])
    with SenseIndex.open(tmp_path / "idx") as index:
        again = index.add([records])
        assert (again.documents_unchanged, again.documents_replaced, again.documents_indexed) == (2, 0, 0)
        records.write_text('{"id": "r1", "year": 2000, "text": "The bank closed."}\n'
                           '{"id": "r2", "year": 1900, "text": "The bank opened."}\n')
        edited = index.add([records])
        assert (edited.documents_unchanged, edited.documents_replaced) == (1, 1)
        assert [h.document for h in index.usages("bank", where=["year=2000"])] == ["r1"]


def test_sidecar_file_and_field_names_match_in_either_unicode_form(tmp_path: Path,
                                                                   fake_settings: EncoderSettings) -> None:
    """A row typed "café.txt" (NFC) for a file named decomposed (NFD, as macOS names files) gave it no fields, with no
    word said; a field named decomposed in a header or a JSONL record was out of reach of `--where année=...` typed
    composed, and of `senses --by`."""
    from sensesearch.diachronic import field_value

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "cafe\u0301.txt").write_text("The bank of the river.\n")
    (folder / "metadata.csv").write_text("file,anne\u0301e\ncaf\u00e9.txt,1900\n")
    (folder / "r.jsonl").write_text('{"id": "r", "the\u0300me": "x", "text": "The bank raised rates."}\n')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([folder])
        metas = sorted((h.meta for h in index.usages("bank")), key=str)
        assert metas == [{"ann\u00e9e": 1900}, {"th\u00e8me": "x"}]
        for where in ("ann\u00e9e=1900", "anne\u0301e>=1900", "th\u00e8me=x", "meta.the\u0300me=x"):
            assert len(index.usages("bank", where=[where])) == 1, where
    assert field_value({"ann\u00e9e": 1900}, "a", "anne\u0301e") == 1900


def test_rows_naming_no_file_of_the_folder_are_warned_of(tmp_path: Path, fake_settings: EncoderSettings,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A misspelt row, or one naming a file in a subfolder, gave its fields to no document without a word: the file
    meant was then "without a value" for `senses --by` and out of every `--where`."""
    import logging

    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("The bank of the river.\n")
    (folder / "sub" / "s.txt").write_text("The bank raised rates.\n")
    (folder / "cafe\u0301.txt").write_text("A bank.\n")
    (folder / "metadata.csv").write_text("file,year\na.txt,1900\naa.txt,1901\nsub/s.txt,1902\ncaf\u00e9.txt,1903\n")
    caplog.set_level(logging.WARNING, logger="sensesearch.sidecar")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([folder])
    warned = [r.getMessage() for r in caplog.records if r.name == "sensesearch.sidecar"]
    assert len(warned) == 1 and "2 rows name no file in its folder ('aa.txt', 'sub/s.txt')" in warned[0], warned
