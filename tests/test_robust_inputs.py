"""Bad input, each a real file made here: a clear line and exit 1 for what stops a command, a warning and a
skip for a bad file among good ones, never a traceback."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch import encoder as encoder_module
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.segment import split_sentences

from .robust_util import REPO, run_cli

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(range(256))
STATE_UNION = REPO / "corpora" / "state_union"
NOT_UTF8 = ["1954-Eisenhower", "1970-Nixon", "1971-Nixon", "1972-Nixon", "1973-Nixon", "1974-Nixon"]


def _invoke(*args: str | Path) -> Result:
    result = runner.invoke(app, [str(a) for a in args])
    # Under CliRunner an uncaught exception never reaches the output: it is in result.exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _one_error_line(result: Result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: "), result.stderr
    for text in expected:
        assert text in lines[-1], lines[-1]


def _index(paths: list[Path], target: Path, *extra: str) -> Result:
    return _invoke("index", *paths, "--index", target, "--model", "fake:test", *extra)


def test_nonexistent_path_stops_before_an_index_is_created(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("The bank is open.\n")
    for paths in ([tmp_path / "nope.txt"], [good, tmp_path / "missing"]):
        result = _index(paths, tmp_path / "idx")
        _one_error_line(result, "no such file or folder", str(paths[-1]))
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty document"),
    ("blank.txt", b"  \n\t\n\n", "empty document"),
    ("image.png", PNG, "binary file"),
    ("program", ELF, "binary file"),
])
def test_a_bad_file_named_alone_stops_with_its_reason(name: str, content: bytes, reason: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the model loads: it had been loaded (half a minute for MiniLM on 2 busy cores) to say nothing was read."""
    _no_model_load(monkeypatch)
    bad = tmp_path / name
    bad.write_bytes(content)
    result = _index([bad], tmp_path / "idx")
    _one_error_line(result, "nothing to index", reason)
    assert f"{bad}: {reason}" in result.stderr and "loading the model" not in result.stderr
    assert not (tmp_path / "idx").exists()


def _no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(settings: EncoderSettings, device: str | None) -> None:
        raise AssertionError("the model was loaded before the empty input was noticed")
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", refuse)


@pytest.mark.parametrize("given", [b"", b"  \n\t\n"])
def test_an_empty_stdin_stops_before_the_model_loads(given: bytes, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _no_model_load(monkeypatch)
    result = runner.invoke(app, ["index", "-", "--index", str(tmp_path / "idx"), "--model", "fake:test"], input=given)
    _one_error_line(result, "nothing to index", "<stdin>:", "empty document")
    assert not (tmp_path / "idx").exists()


def test_stdin_read_before_the_model_is_still_indexed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "-", "--index", str(tmp_path / "idx"), "--model", "fake:test", "--quiet"],
                           input=b"The bank raised its rates.\n")
    assert result.exit_code == 0, result.output
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert [hit.sentence for hit in index.usages("bank")] == ["The bank raised its rates."]


def test_a_file_emptied_since_it_was_indexed_is_still_dropped_by_the_command(tmp_path: Path) -> None:
    """The check before the model is for new indexes only: in an existing one an emptied file drops its old version."""
    text = tmp_path / "a.txt"
    text.write_text("The bank raised its rates.\n")
    assert _index([text], tmp_path / "idx", "--quiet").exit_code == 0
    text.write_text("")
    result = _index([text], tmp_path / "idx")
    assert result.exit_code == 0 and "1 replaced" in result.stderr, result.output
    # A skipped input stays indexed, as the README says: this one was read empty, and the line says its old version went.
    assert "a.txt: empty document; the version indexed before is removed" in result.stderr, result.stderr
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().documents == 0


def test_bad_files_in_a_folder_are_skipped_with_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The bank raised its rates.\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.txt").write_bytes(PNG)
    (folder / "elf.txt").write_bytes(ELF)
    (folder / "latin1.txt").write_bytes("Un café près de la rivière, à côté de la banque.\n".encode("latin-1"))
    (folder / "utf16.txt").write_bytes("Ein Ufer des Flusses, über der Brücke.\n".encode("utf-16"))
    records = ['{"id": "r1", "text": "A record about a bank."}', "{not json", '{"id": "r3", "title": "no text"}',
               '{"id": "r4", "text": 42}', "", '["a", "list"]', '{"id": "r7", "text": "The last good record."}']
    (folder / "records.jsonl").write_text("\n".join(records) + "\n")
    with caplog.at_level(logging.WARNING, logger="sensesearch"):
        result = _index([folder], tmp_path / "idx")
    assert result.exit_code == 0, result.output
    skipped = {
        folder / "empty.txt": "empty document", folder / "image.txt": "binary file",
        folder / "elf.txt": "binary file", f"{folder / 'records.jsonl'}:2": "not valid JSON",
        f"{folder / 'records.jsonl'}:3": 'record has no string "text" field', f"{folder / 'records.jsonl'}:4": 'record has no string "text"',
        f"{folder / 'records.jsonl'}:6": 'record has no string "text" field',
    }
    assert f"Skipped {len(skipped)}:" in result.stderr
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for where, reason in skipped.items():
        assert f"{where}: {reason}" in result.stderr
        assert any(str(where) in w and reason in w for w in warnings), (where, warnings)
    assert "Indexed 5 documents" in result.stderr
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert {d["document"] for d in index.documents()} == {
            str(folder / "good.txt"), str(folder / "latin1.txt"), str(folder / "utf16.txt"), "r1", "r7"}
        assert index.usages("café")[0].word == "café"
        assert index.usages("brücke")[0].word == "Brücke"


@pytest.mark.skipif(not STATE_UNION.is_dir(), reason="corpora/state_union is not here")
def test_state_union_files_that_are_not_utf8_index_and_read_sensibly(tmp_path: Path,
                                                                    fake_settings: EncoderSettings) -> None:
    files = [STATE_UNION / f"{name}.txt" for name in NOT_UTF8]
    for path in files:
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add(files)
        assert report.documents_indexed == 6 and not report.skipped
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index, index.store.engine.connect() as conn:
        from sqlalchemy import select

        from sensesearch.schema import documents, sentences
        rows = dict(conn.execute(select(documents.c.label, documents.c.meta)).all())
        everything = " ".join(conn.execute(select(sentences.c.text)).scalars())
    encodings = {Path(label).stem: (meta if isinstance(meta, dict) else json.loads(meta))["encoding"]
                 for label, meta in rows.items()}
    assert encodings["1954-Eisenhower"] == "cp1252" and "½¢ decrease" in everything
    assert {encodings[n] for n in NOT_UTF8[1:]} == {"big5"}
    assert "\ufffd" not in everything
    assert "man’s genius" in everything and "“to the Congress" in everything and "peace—with" in everything


def test_non_utf8_file_name_and_lone_surrogates_are_stored(tmp_path: Path) -> None:
    """Regression: both used to end in a UnicodeEncodeError traceback from SQLite."""
    folder = tmp_path / "odd"
    folder.mkdir()
    odd_name = Path(os.fsdecode(bytes(folder) + b"/caf\xe9.txt"))
    odd_name.write_text("The bank by the cafe.\n")
    (folder / "lone.jsonl").write_text('{"id": "a\\udc00", "text": "A lone \\ud800 surrogate near the bank.",'
                                       ' "note": "\\udfff"}\n')
    result = _index([folder], tmp_path / "idx")
    assert result.exit_code == 0, result.output
    labels = {h.document for h in SenseIndex.open(tmp_path / "idx", read_only=True).usages("bank")}
    assert labels == {f"{folder}/caf\\xe9.txt", "a\ufffd"}
    json_out = _invoke("usages", "bank", "--index", tmp_path / "idx", "--json")
    assert json_out.exit_code == 0 and "\ufffd" in json.loads(json_out.stdout)[0]["sentence"] + json_out.stdout
    removed = _invoke("remove", odd_name, "--index", tmp_path / "idx")
    assert removed.exit_code == 0 and "caf\\xe9.txt" in removed.stdout


@pytest.fixture
def small_index(tmp_path: Path, bank_corpus: Path) -> Path:
    assert _index([bank_corpus], tmp_path / "idx").exit_code == 0
    return tmp_path / "idx"


@pytest.mark.parametrize("query,expected", [
    ("no marker at all", "mark the word"),
    ("the [[bank]] and the [[river]]", "found 2 markers"),
    ("the [[ ]] is empty", "marked word is empty"),
    ("an [[unclosed marker", "unbalanced"),
    ("the [[zebra]] grazed", "'zebra' does not occur in the index"),
])
def test_bad_queries(query: str, expected: str, small_index: Path) -> None:
    result = _invoke("query", query, "--index", small_index)
    _one_error_line(result, expected)
    assert len(result.stderr.strip().splitlines()) == 1
    if "zebra" in query:
        assert "--any-word" in result.stderr


@pytest.mark.parametrize("command", [["query", "the [[bank]] rose"], ["query", "the [[bank]] rose", "--any-word"],
                                     ["usages", "bank"], ["usages", "interest rate"], ["senses", "bank"]])
def test_an_index_that_holds_no_usage_says_so_whatever_is_asked(tmp_path: Path, bank_corpus: Path,
                                                                command: list[str]) -> None:
    """Every document removed: `query` had said "'bank' does not occur in the index; try --any-word", and --any-word
    then said the index holds no usages; `usages` named the word as though the index held others."""
    target = tmp_path / "idx"
    assert _index([bank_corpus], target, "--quiet").exit_code == 0
    assert _invoke("remove", bank_corpus / "bank.txt", "--index", target).exit_code == 0
    result = _invoke(*command, "--index", target)
    _one_error_line(result, "the index holds no usages yet; index a corpus first")
    assert "--any-word" not in result.stderr and "'bank'" not in result.stderr, result.stderr


def test_index_folders_that_are_not_sound_indexes(tmp_path: Path, small_index: Path, bank_corpus: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    cases = [(tmp_path / "absent", "does not exist"), (plain, "not a sensesearch index")]
    broken_config = tmp_path / "broken"
    shutil.copytree(small_index, broken_config)
    (broken_config / "config.json").write_text('{"encoder": ')
    cases.append((broken_config, "config.json cannot be read"))
    truncated = tmp_path / "truncated"
    shutil.copytree(small_index, truncated)
    vectors = truncated / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    cases.append((truncated, "not a readable FAISS index"))
    damaged_db = tmp_path / "damaged_db"
    shutil.copytree(small_index, damaged_db)
    database = bytearray((damaged_db / "meta.sqlite").read_bytes())
    database[4096:8192] = b"\xff" * 4096  # page 2 only: opening works, queries fail
    (damaged_db / "meta.sqlite").write_bytes(bytes(database))
    cases.append((damaged_db, "is damaged: database disk image is malformed"))
    no_db = tmp_path / "no_db"
    shutil.copytree(small_index, no_db)
    for leftover in no_db.glob("meta.sqlite*"):
        leftover.unlink()
    cases.append((no_db, "meta.sqlite is missing"))
    for folder, expected in cases:
        for command in (["query", "the [[bank]]"], ["usages", "bank"], ["info"], ["verify"], ["remove", "x"]):
            result = _invoke(*command, "--index", folder)
            if command == ["verify"] and folder == truncated:
                assert result.exit_code == 1 and expected in result.stdout
            elif folder == damaged_db and command == ["info"]:
                assert result.exit_code == 0, result.output  # counts and sizes read only sound pages
            else:
                _one_error_line(result, expected)
        writer = _index([bank_corpus], folder)  # a new or empty folder becomes an index; broken files stop it
        assert writer.exit_code == (1 if folder in (broken_config, truncated, damaged_db, no_db) else 0), writer.output


@pytest.mark.parametrize("option,value,expected", [
    ("--model", "fake:other", "model: index has 'fake:test', asked for 'fake:other'"),
    ("--layers", "-1", "layers: index has (-4, -3, -2, -1), asked for (-1,)"),
    ("--pooling", "first", "pooling: index has 'mean', asked for 'first'"),
    ("--combine", "concat", "combine: index has 'sum', asked for 'concat'"),
])
def test_adding_with_other_settings_says_what_differs(option: str, value: str, expected: str, small_index: Path,
                                                      bank_corpus: Path) -> None:
    result = _invoke("index", bank_corpus, "--index", small_index, option, value)
    _one_error_line(result, "built with other settings", expected)
    with SenseIndex.open(small_index, read_only=True) as index:
        assert index.info().documents == 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_ten_megabytes_without_newline_or_punctuation(tmp_path: Path) -> None:
    """One 10 MB paragraph indexes in bounded time and memory (child process, vectorised fake encoder)."""
    rng = np.random.default_rng(0)
    vocabulary = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=n)) for n in rng.integers(30, 60, 2000)]
    words = rng.choice(vocabulary, size=10_000_000 // 44)
    text = " ".join(words)[:10_000_000]
    big = tmp_path / "big.txt"
    big.write_text(text)
    started = time.perf_counter()
    peak_file = tmp_path / "peak_kb"
    result = run_cli("index", big, "--index", tmp_path / "idx", "--model", "fake:big", timeout=240, FAKE_FAST="1",
                     FAKE_PEAK_FILE=str(peak_file))
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    peak_mb = int(peak_file.read_text()) / 1024
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        info = index.info()
        longest = max(len(s) for s in _sentences(index))
    assert info.documents == 1 and info.occurrences == len(text.split())
    assert info.sentences >= 10_000_000 // 2000 and longest <= 2000
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
    assert seconds < 200, f"{seconds:.0f} s"


def _sentences(index: SenseIndex) -> list[str]:
    from sqlalchemy import select

    from sensesearch.schema import sentences
    with index.store.engine.connect() as conn:
        return list(conn.execute(select(sentences.c.text)).scalars())


def test_segmenter_cuts_unbroken_text_into_bounded_pieces_in_blocks() -> None:
    """Regression for memory: Bling Fire now sees at most a block at a time; the spans do not change."""
    nothing_to_break = "x" * 1_000_000
    spans = split_sentences(nothing_to_break)
    assert spans[0][0] == 0 and spans[-1][1] == len(nothing_to_break)
    assert all(e - s <= 2000 for s, e in spans) and all(a[1] == b[0] for a, b in pairwise(spans))
    prose = (STATE_UNION / "1970-Nixon.txt").read_bytes().decode("big5") if STATE_UNION.is_dir() else "Hi. " * 9000
    flat = prose.replace("\n", " ")
    assert split_sentences(flat, block_chars=3000) == split_sentences(flat, block_chars=10**9)


@pytest.mark.slow
def test_real_encoder_windows_cover_an_unbroken_2000_char_span(minilm: TransformerEncoder) -> None:
    """The segmenter's longest pieces: 2,000 letters with no space, and 200 unknown words, through MiniLM."""
    rng = np.random.default_rng(1)
    one_word = "x" * 2000
    many_words = " ".join("".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), size=9)) for _ in range(200))
    encoded = minilm.encode([one_word, many_words])
    assert [len(e.spans) for e in encoded] == [1, 200]
    assert encoded[0].n_pieces == 1  # WordPiece reads a word over 100 characters as one [UNK]
    assert encoded[1].n_pieces > minilm.window_width
    for e in encoded:
        assert np.all(np.isfinite(e.vectors)) and np.allclose(np.linalg.norm(e.vectors, axis=1), 1, atol=1e-4)
    assert encoded[0].spans.tolist() == [[0, 2000]]


@pytest.mark.parametrize("text,encoding", [
    ("Un café près de la rivière, à côté de la banque.", "latin-1"),
    ("Zażółć gęślą jaźń, powiedział.", "cp1250"),
    ("Привет, как дела? Это текст на русском языке.", "cp1251"),
    ("Γειά σου κόσμε, αυτό είναι ελληνικό κείμενο.", "cp1253"),
    ("He said “yes” — twice. It’s done.", "big5"),
    ("Ein Ufer des Flusses, über der Brücke.", "utf-16"),
    # A few bytes only: every reading ties, and the detector's order was alphabetical (Urdu, EBCDIC, DOS Ukrainian).
    ("Fuß", "cp1252"),
    ("naïve résumé", "cp1252"),
    ("Ærø", "cp1252"),
    ("Œuvre", "cp1252"),
    ("Привет, мир", "cp1251"),
    # Mostly ASCII: cp1252 reads Polish ł as ³ inside a word.
    ("Prosimy o przesłanie dokumentów do końca tygodnia.", "cp1250"),
    ("Ten bank jest mały.\n", "cp1250"),
    # A few bytes: read as UTF-16 ("䓩櫠⁶甊"), GB18030 ("a駉", "舗gstr鰉") or cp1251 ("Сandъ") before.
    ("Déjà vu\n", "cp1252"),
    ("año\n", "latin-1"),
    ("Ångström\n", "cp1252"),
    ("Ñandú\n", "latin-1"),
    ("é\n", "cp1252"),
    ("Привет\n", "cp1251"),
    ("Москва\n", "cp1251"),
    ("這是一個測試\n", "big5"),
    ("The word 银行 means bank.\n", "gb18030"),
    ("Αυτό είναι ένα κείμενο στα ελληνικά.", "cp1253"),
])
def test_short_legacy_encodings_decode_to_the_original_text(text: str, encoding: str) -> None:
    """Regression: the detector read this latin-1 French as cp1257 ("cafķ") before the plausibility check, "Fuß"
    as cp1006 ("Fuﻑ") and "Ærø" as cp037 ("FÊ8"). The encoding named is one that gives the text."""
    from sensesearch.corpus import decode_bytes

    data = text.encode(encoding)
    decoded, named = decode_bytes(data)
    assert decoded == text and (named.startswith("utf-") or data.decode(named) == text), named
