"""Inputs that widen or derail a run: empty names, named pipes, link loops, hostile JSONL records."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.corpus import read_corpus
from sensesearch.errors import InputError, UsageError
from sensesearch.inputs import scan_inputs
from sensesearch.jsonsafe import MAX_DEPTH, MAX_META_BYTES, load_record
from sensesearch.records import Document, Skipped
from sensesearch.verify import verify_index

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, fake_settings: EncoderSettings) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("The bank of the river was muddy.\n")
    (corpus / "sub" / "b.txt").write_text("She paid the money into the bank.\n")
    (corpus / "sub" / "c.txt").write_text("The bank lent money to farmers.\n")
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=fake_settings) as index:
        index.add([corpus])
    return corpus, target


def _documents(target: Path) -> int:
    with SenseIndex.open(target, read_only=True) as index:
        return index.info().documents


# ---- 3: an empty name never means "the current folder" ---------------------------------------------------

@pytest.mark.parametrize("name", ["", " ", "\t"])
def test_an_empty_name_to_remove_is_a_usage_error_and_nothing_is_removed(built: tuple[Path, Path], name: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, target = built
    monkeypatch.chdir(corpus)  # where "" would resolve to: every document lies below it
    result = runner.invoke(app, ["remove", name, "--index", str(target)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "empty document name" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # Never the advice that index's message gives: "." would name every document indexed from here.
    assert "write ." not in result.stderr
    assert _documents(target) == 3
    with SenseIndex.open(target) as index:
        with pytest.raises(UsageError, match="empty"):
            index.remove([name])
        with pytest.raises(UsageError):
            index.matching_documents([str(corpus / "a.txt"), name])
    assert _documents(target) == 3


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_name_to_index_is_a_usage_error_before_anything_is_made(tmp_path: Path, name: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stray.txt").write_text("The bank of the river.\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["index", name, "--index", str(tmp_path / "idx"), "--model", "fake:x"])
    assert result.exit_code == 2 and "empty file or folder name" in result.stderr and "write ." in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "idx").exists()
    with pytest.raises(UsageError):
        scan_inputs([str(tmp_path / "stray.txt"), name])
    with pytest.raises(UsageError, match="index folder"):
        SenseIndex.create(name, settings=EncoderSettings(model="fake:x"))
    with pytest.raises(UsageError, match="index folder"):
        SenseIndex.open(name)


def test_an_empty_index_option_or_variable_is_not_the_current_folder(tmp_path: Path, built: tuple[Path, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, _ = built
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["index", str(corpus), "--index", "", "--model", "fake:x"])
    assert result.exit_code == 2 and "empty index folder name" in result.output
    assert not (tmp_path / "config.json").exists()
    script = "from sensesearch.cli_options import DEFAULT_INDEX; print(DEFAULT_INDEX)"
    shown = subprocess.run([sys.executable, "-c", script], env={**os.environ, "SENSESEARCH_INDEX": ""},
                           capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "indexes/default"


def test_remove_dry_run_lists_a_folder_s_documents_and_removes_nothing(built: tuple[Path, Path]) -> None:
    corpus, target = built
    listed = runner.invoke(app, ["remove", str(corpus / "sub"), "--index", str(target), "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert f"{corpus / 'sub'} names 2 documents" in listed.stdout and "Would remove 2 documents" in listed.stdout
    assert str(corpus / "sub" / "b.txt") in listed.stdout and str(corpus / "a.txt") not in listed.stdout
    assert "Nothing was removed" in listed.stdout and _documents(target) == 3
    as_json = runner.invoke(app, ["remove", str(corpus), "--index", str(target), "--dry-run", "--json"])
    assert json.loads(as_json.stdout) == {"would_remove": [str(corpus / "a.txt"), str(corpus / "sub" / "b.txt"),
                                                           str(corpus / "sub" / "c.txt")], "dry_run": True,
                                         "unlinked_sense_examples": {},
                                         "documents": [{"label": str(corpus / name), "path": str(corpus / name)}
                                                       for name in ("a.txt", "sub/b.txt", "sub/c.txt")]}
    assert _documents(target) == 3
    done = runner.invoke(app, ["remove", str(corpus / "sub"), "--index", str(target)])
    assert done.exit_code == 0 and "Removed 2 documents" in done.stdout and _documents(target) == 1


# ---- 11: named pipes and link loops are skipped with their reason, before the model loads ---------------

@pytest.fixture
def odd_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "odd"
    (corpus / "inner").mkdir(parents=True)
    (corpus / "good.txt").write_text("The bank of the river was muddy.\n")
    (corpus / "inner" / "also.txt").write_text("She paid the money into the bank.\n")
    os.mkfifo(corpus / "inner" / "pipe.txt")
    os.symlink("loop.txt", corpus / "inner" / "loop.txt")
    os.symlink(tmp_path / "nowhere.txt", corpus / "inner" / "broken.txt")
    os.symlink(corpus / "inner", corpus / "inner" / "back")
    os.mkfifo(tmp_path / "named.fifo")
    os.symlink("self", tmp_path / "self")
    return corpus


def _reasons(skipped: list[Skipped]) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in skipped}


def test_pipes_and_loops_are_listed_with_their_reason_without_opening_them(odd_corpus: Path) -> None:
    tmp = odd_corpus.parent
    done = threading.Event()
    found: dict[str, object] = {}

    def scan() -> None:  # a pipe opened for reading would block this thread for ever
        found["scan"] = scan_inputs([odd_corpus, tmp / "named.fifo", tmp / "self"])
        found["read"] = list(read_corpus([odd_corpus, tmp / "named.fifo", tmp / "self"]))
        done.set()

    threading.Thread(target=scan, daemon=True).start()
    assert done.wait(20), "a named pipe was opened"
    result = found["scan"]
    assert [p.name for p in result.files] == ["good.txt", "also.txt"]
    reasons = _reasons(result.skipped)
    assert "named pipe" in reasons["pipe.txt"] and "named pipe" in reasons["named.fifo"]
    assert "symbolic link loop" in reasons["loop.txt"] and "symbolic link loop" in reasons["self"]
    assert "broken symbolic link" in reasons["broken.txt"] and "not followed" in reasons["back"]
    read = found["read"]
    skipped_first = [type(item) for item in read]
    assert skipped_first == [Skipped] * 6 + [Document] * 2  # every skip is known before the first document


def test_cli_index_keeps_good_inputs_and_lists_odd_ones_before_the_model_loads(
        odd_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = odd_corpus.parent
    from sensesearch import encoder as encoder_module

    loaded: list[str] = []
    real_factory = encoder_module.ENCODER_FACTORIES["fake"]

    def noting(settings, device):  # records what stderr held when the model was loaded
        sys.stderr.flush()
        loaded.append(sys.stderr.buffer.getvalue().decode())
        return real_factory(settings, device)

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", noting)
    result = runner.invoke(app, ["index", str(odd_corpus), str(tmp / "named.fifo"), str(tmp / "self"),
                                 "--index", str(tmp / "idx"), "--model", "fake:x"])
    assert result.exit_code == 0, result.output
    assert loaded and _documents(tmp / "idx") == 2
    early = loaded[0]
    for name in ("named.fifo", "self", "pipe.txt", "loop.txt", "broken.txt"):
        assert name in early, name
    assert "no such file" not in result.stderr
    # A link loop names no document (resolving it had ended `index` and -d with "unexpected RuntimeError").
    looped = runner.invoke(app, ["remove", str(tmp / "self"), "--index", str(tmp / "idx")])
    assert looped.exit_code == 1 and "no indexed document matches" in looped.output, looped.output


def test_a_missing_name_is_still_an_error_naming_each(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such file or folder: .*a.txt', .*b.txt'"):
        scan_inputs([tmp_path / "a.txt", tmp_path / "b.txt"])


def test_the_missing_names_are_quoted_so_a_comma_in_one_never_reads_as_two(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The names had been joined bare: the one missing file "a, b.txt" read as the two missing files "a" and "b.txt",
    and a line break in a name broke the error's one line."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as one:
        scan_inputs(["a, b.txt"])
    with pytest.raises(InputError) as two:
        scan_inputs(["a", "b.txt", "c\nd"])
    assert str(one.value) == "no such file or folder: 'a, b.txt'"
    assert str(two.value) == "no such file or folder: 'a', 'b.txt', 'c\\nd'"


# ---- 7: hostile JSONL records are skipped with file:line, the rest of the run goes on -----------------------

def test_hostile_jsonl_records_are_skipped_at_read_time_and_good_files_survive(
        tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "good.txt").write_text("The bank of the river was muddy.\n")
    lines = ['{"text": "a deep bank", "m": ' + "[" * 10000 + "]" * 10000 + "}",
             '{"text": "a deep bank", "m": ' + "[" * 700 + "]" * 700 + "}",
             '{"text": "a wide bank", "m": "' + "x" * (MAX_META_BYTES + 10) + '"}',
             '{"text": "a bank with NaN", "id": "n1", "score": NaN, "range": [-Infinity, Infinity]}',
             '{"text": "a plain bank", "id": "p1", "m": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"]
    (corpus / "hostile.jsonl").write_text("\n".join(lines) + "\n")
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=fake_settings) as index:
        report = index.add([corpus])
    assert report.documents_indexed == 2
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons == {"hostile.jsonl:1": f"nested deeper than {MAX_DEPTH} levels",
                       "hostile.jsonl:2": f"nested deeper than {MAX_DEPTH} levels",
                       "hostile.jsonl:3": reasons["hostile.jsonl:3"],
                       "hostile.jsonl:4": 'field "score" holds NaN, not a JSON number (and 2 more): write null for no '
                                          'value, or the number as a string ("NaN")'}
    assert "more than the 65,536 allowed" in reasons["hostile.jsonl:3"]
    for args in (["usages", "bank", "--json"], ["query", "the [[bank]] of it", "--json", "-k", "10"]):
        result = runner.invoke(app, [*args, "--index", str(target)])
        assert result.exit_code == 0, result.output
        metas = {hit["document"]: hit["meta"] for hit in json.loads(result.stdout, parse_constant=_refuse)}
        assert "p1" in metas and "n1" not in metas


def test_numbers_no_float_holds_are_refused_naming_the_field(tmp_path: Path, fake_settings: EncoderSettings,
                                                              db_url: str | None) -> None:
    """1e400 is valid JSON and reads as inf, 1e-400 as 0, and Python's json reads NaN and Infinity: each had been
    stored as null (1e-400 as 0), a value the file never gave, without a word. The record is skipped, naming its line,
    field and number, as one with a whole number past what Python reads; so is a Document of the API's caller with NaN
    or an infinity. A sidecar's cell keeps the text it was written as, as its integers past that do."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.jsonl").write_text('{"text": "a big bank", "id": "b1", "k": 1e400, "party": "x"}\n'
                                      '{"text": "a tiny bank", "id": "t1", "m": [2, {"p": -1.5e-400}], "party": "x"}\n'
                                      '{"text": "a small bank", "id": "s1", "k": 5, "z": 0.0e-400, "party": "y"}\n')
    (corpus / "a.txt").write_text("a sidecar bank\n")
    (corpus / "metadata.csv").write_text("file,k,p,party\na.txt,1.5e400,-2.5e-400,x\n")
    with pytest.raises(InputError, match=r'^field "k" holds inf, not a JSON number \(and 1 more\): write null'):
        Document(key="api#1", label="api-1", path="api", text="an api bank", content_hash="h",
                 meta={"k": math.inf, "n": [math.nan], "party": "x"})
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        report = index.add([corpus])
        assert report.documents_indexed == 2
        assert {(s.path.rsplit("/", 1)[-1], s.reason) for s in report.skipped} == {
            ("big.jsonl:1", 'field "k" holds 1e400, past the range of a float (it reads as infinity): write null for '
                            'no value, or the number as a string ("1e400")'),
            ("big.jsonl:2", 'field "m"[1]["p"] holds -1.5e-400, below the range of a float (it reads as 0): write '
                            'null for no value, or the number as a string ("-1.5e-400")')}
        hits = {h.document.rsplit("/", 1)[-1]: h.meta for h in index.usages("bank")}
        assert hits == {"s1": {"k": 5, "z": 0.0, "party": "y"}, "a.txt": {"k": "1.5e400", "p": "-2.5e-400", "party": "x"}}
        assert sorted(h.document.rsplit("/", 1)[-1] for h in index.usages("bank", where=["k>1"])) == ["a.txt", "s1"]
    assert verify_index(tmp_path / "idx", check_model=False).sound


def test_load_record_bounds() -> None:
    assert load_record('{"a": [[1]]}') == {"a": [[1]]}
    with pytest.raises(InputError, match='^field "a" holds NaN, not a JSON number: write null'):
        load_record('{"a": NaN}')
    assert load_record('{"a": 0e-400, "b": 4e-320}') == {"a": 0.0, "b": 4e-320}  # 0 is 0; a float holds 4e-320
    # A whole number Python will not convert is valid JSON: the reason says what is wrong with it, not "not valid".
    assert load_record('{"a": ' + "7" * 4300 + "}") == {"a": int("7" * 4300)}
    with pytest.raises(InputError, match="^a number of 5,000 digits, more than the 4,300 read"):
        load_record('{"a": -' + "7" * 5000 + "}")
    for bad, reason in (("[" * 5000, "nested deeper"), ('{"a": 1', "not valid JSON"), ("[" * 40 + "]" * 40, "nested")):
        with pytest.raises(Exception, match=reason):
            load_record(bad)


def test_documents_built_through_the_api_are_bounded_too(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    deep: dict = {}
    node = deep
    for _ in range(600):
        node["a"] = {}
        node = node["a"]
    for meta, reason in ((deep, "nested deeper"), ({"x": "y" * MAX_META_BYTES}, "more than the")):
        with pytest.raises(InputError, match=reason):
            Document(key="k", label="l", path="p", text="the bank", content_hash="h", meta=meta)


def test_a_reader_skips_a_document_whose_metadata_is_over_the_bounds() -> None:
    from sensesearch.corpus import _document_or_skip

    made = list(_document_or_skip("k", "label", "p", "the bank", {"x": "y" * MAX_META_BYTES}, skip_as="p:3"))
    assert len(made) == 1 and isinstance(made[0], Skipped) and made[0].path == "p:3"
    assert "more than the" in made[0].reason


def _refuse(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")
