"""Corpus reading: folders, JSONL, stdin, encodings, bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sensesearch.corpus import decode_bytes, read_corpus
from sensesearch.errors import InputError
from sensesearch.records import Document, Skipped

from .conftest import SHARED


def _split(items: list) -> tuple[list[Document], list[Skipped]]:
    return [i for i in items if isinstance(i, Document)], [i for i in items if isinstance(i, Skipped)]


def test_folder_is_read_recursively_in_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("Alpha text.")
    (tmp_path / "b" / "c.txt").write_text("Gamma text.")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "b" / "notes.txt.utf-8").write_text("Left out as well.")
    (tmp_path / "README").write_text("And this.")
    (tmp_path / ".hidden").write_text("Not counted.")
    (tmp_path / "metadata.csv").write_text("file,year\na.txt,1999\n")
    docs, skipped = _split(list(read_corpus([tmp_path])))
    assert [Path(d.path).name for d in docs] == ["a.txt", "c.txt"]
    # Files of other kinds were left out without a word; one line per folder names them now.
    assert [(s.path, s.reason) for s in skipped] == [(str(tmp_path), "left out 3 files not named "
                                                      ".jsonl/.md/.ndjson/.text/.txt ('README', 'b/notes.txt.utf-8', "
                                                      "'ignored.png'); name one to read it as text")]


def test_jsonl_records_keep_id_and_metadata_and_skip_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "r1", "text": "First record.", "date": "1999-01-01"}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "Second record."}),
    ]))
    docs, skipped = _split(list(read_corpus([path])))
    assert [d.label for d in docs] == ["r1", f"{path}:4"]
    assert docs[0].meta == {"date": "1999-01-01"}
    assert [s.path for s in skipped] == [f"{path}:2", f"{path}:3"]


def test_stdin_is_one_document() -> None:
    docs, _ = _split(list(read_corpus(["-"], stdin=io.BytesIO(b"From standard input."))))
    assert docs[0].label.startswith("<stdin>:") and docs[0].text == "From standard input."


def test_binary_files_are_skipped_and_empty_ones_left_to_ingest(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "bin.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 10)
    docs, skipped = _split(list(read_corpus([tmp_path])))
    # An empty file is still a document: ingest skips it, and drops the version of it indexed before.
    assert [Path(d.path).name for d in docs] == ["empty.txt"] and not docs[0].text.strip()
    assert {Path(s.path).name: s.reason for s in skipped} == {"bin.txt": "binary file (contains NUL bytes)"}


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_corpus([tmp_path / "nope"]))


def test_latin1_is_detected() -> None:
    text, encoding = decode_bytes("Le café était très animé, n'est-ce pas ? Oui, très.".encode("latin-1"))
    assert "café" in text and encoding != "utf-8"


@pytest.mark.skipif(not (SHARED / "corpora" / "state_union").is_dir(), reason="shared corpora absent")
def test_every_state_of_the_union_file_decodes() -> None:
    docs, skipped = _split(list(read_corpus([SHARED / "corpora" / "state_union"])))
    assert [s.reason.split(" (")[1] for s in skipped] == ["'README'); name one to read it as text"] and len(docs) == 65
    assert all("\ufffd" not in d.text[:2000] for d in docs)


@pytest.mark.skipif(not (SHARED / "corpora" / "state_union").is_dir(), reason="shared corpora absent")
def test_stray_big5_punctuation_and_latin1_decode_as_western_text() -> None:
    folder = SHARED / "corpora" / "state_union"
    nixon, encoding = decode_bytes((folder / "1970-Nixon.txt").read_bytes())
    assert encoding == "big5" and "man’s" in nixon and "remembered—not" in nixon
    eisenhower, _ = decode_bytes((folder / "1954-Eisenhower.txt").read_bytes())
    assert all(ord(ch) < 0x3000 for ch in eisenhower)


def test_mostly_ascii_with_cp1252_quotes() -> None:
    data = ("He said \u201chello\u201d to the crowd and left. " * 20).encode("cp1252")
    text, _ = decode_bytes(data)
    assert "\u201chello\u201d" in text
