"""One decoder for every file a user hands over: UTF-8 with stray legacy bytes or a cut last character stays UTF-8,
a second byte-order mark stays in the text (offsets count it), and query files, compare's lines, labelled sense
examples, metadata sidecars and evaluation data are read as a corpus is."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app
from sensesearch.corpus import read_text_file
from sensesearch.decoding import decode_bytes
from sensesearch.errors import InputError
from sensesearch.evaldata import read_coarsewsd_word
from sensesearch.records import Document
from sensesearch.sense_examples import read_labelled
from sensesearch.sidecar import read_sidecar

runner = CliRunner()
MIXED = "Das Café in München. The naïve bank. " * 3


def test_utf8_with_a_stray_cp1252_byte_stays_utf8_and_reads_that_byte_as_cp1252() -> None:
    text, encoding = decode_bytes(MIXED.encode() + b"One \x92 quote and an undefined \x81 byte.\n")
    assert text == MIXED + "One \u2019 quote and an undefined \ufffd byte.\n"
    assert encoding == "utf-8+cp1252"


def test_utf8_cut_inside_its_last_character_is_utf8_with_a_replacement_character() -> None:
    head = "The café owner didn’t open the bank. " * 2
    text, encoding = decode_bytes((head + "End —").encode()[:-1])
    assert (text, encoding) == (head + "End \ufffd", "utf-8")


@pytest.mark.parametrize("original", ["We met at the café", "Ich gehe zu Fuß", "Das macht „Spaß“ heute."])
def test_legacy_text_that_looks_like_a_little_utf8_stays_legacy(original: str) -> None:
    """The last byte of "café" in latin-1 starts a UTF-8 sequence: read as UTF-8 cut short it became "caf\ufffd";
    "ß“" in cp1252 is the valid UTF-8 of an NKo letter."""
    assert decode_bytes(original.encode("cp1252"))[0] == original


@pytest.mark.parametrize("data, text", [
    ("café naïve ".encode() + b"Fu\xdf", "café naïve Fuß"),
    (b"\xef\xbb\xbfcaf\xe9", "café"),
    ("Привет, мир ".encode() + b"\x93x\x94", "Привет, мир “x”"),
])
def test_a_stray_last_byte_is_a_stray_byte_and_scripts_count_as_utf8(data: bytes, text: str) -> None:
    assert decode_bytes(data)[0] == text


@pytest.mark.parametrize("data, text, encoding", [
    ("The café is ".encode() + b"\x93nice\x94.\n", "The café is “nice”.\n", "utf-8+cp1252"),
    ("One é, a ".encode() + b"\x93quote\x94 and\xa0a space.", "One é, a “quote” and\xa0a space.", "utf-8+cp1252"),
    (b"\xef\xbb\xbf" + "The café is ".encode() + b"\x93quoted\x94", "The café is “quoted”", "utf-8-sig+cp1252"),
    (b"\xef\xbb\xbf" + "Cut —".encode()[:-1], "Cut \ufffd", "utf-8-sig"),
])
def test_pasted_cp1252_quotes_and_a_byte_order_mark_keep_utf8(data: bytes, text: str, encoding: str) -> None:
    """A pair of cp1252 quotes outweighed one UTF-8 "é", and a file with a UTF-8 BOM lost its quotes to U+FFFD."""
    assert decode_bytes(data) == (text, encoding)


def test_legacy_text_with_a_chance_utf8_pair_stays_legacy() -> None:
    # "Ã©" in cp1252 is the UTF-8 of "é"; one such pair among many cp1252 letters does not make the file UTF-8.
    original = "Le café était très animé. Ã© " + "Très bien, à bientôt. " * 3
    text, encoding = decode_bytes(original.encode("cp1252"))
    assert text == original and encoding != "utf-8+cp1252"


def test_a_second_byte_order_mark_stays_in_the_text(tmp_path: Path) -> None:
    path = tmp_path / "dbom.txt"
    path.write_bytes("\ufeff\ufeffDouble BOM bank.\n".encode())
    document = read_text_file(path)
    assert isinstance(document, Document) and document.text == "\ufeffDouble BOM bank.\n"


def test_offsets_count_a_second_byte_order_mark(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "dbom.txt").write_bytes("\ufeff\ufeffDouble BOM bank.\n".encode())
    (corpus / "j.jsonl").write_text(json.dumps({"id": "r", "text": "\ufeffA record's bank."}) + "\n")
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(corpus), "--index", index, "--model", "fake:test", "--quiet"]).exit_code == 0
    hits = json.loads(runner.invoke(app, ["usages", "bank", "--index", index, "--json"]).stdout)
    originals = {"dbom.txt": "\ufeffDouble BOM bank.\n", "r": "\ufeffA record's bank."}
    assert sorted(Path(h["document"]).name for h in hits) == ["dbom.txt", "r"]
    for hit in hits:
        assert originals[Path(hit["document"]).name][hit["doc_start"]:hit["doc_start"] + 4] == "bank"


def _legacy(path: Path, text: str, encoding: str = "cp1252") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_query_file_is_read_as_a_corpus_is(tmp_path: Path, encoding: str) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("We sat in the café by the bank.\n")
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(corpus), "--index", index, "--model", "fake:test", "--quiet"]).exit_code == 0
    queries = _legacy(tmp_path / "q.txt", "The [[café]] was open.\n", encoding)
    result = runner.invoke(app, ["query", "--file", str(queries), "--index", index, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)[0]
    assert answer["query"] == "The [[café]] was open." and answer["hits"][0]["word"] == "café"


def test_compare_reads_its_lines_as_a_corpus_is(tmp_path: Path) -> None:
    lines = _legacy(tmp_path / "cp.txt", "We sat at the café.\nThe café sold tea.\n")
    result = runner.invoke(app, ["compare", "café", str(lines), "--model", "fake:test", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sentences"] == ["We sat at the café.", "The café sold tea."]


def test_a_binary_query_file_is_one_line_naming_it(tmp_path: Path) -> None:
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01[[bank]]\x00")
    result = runner.invoke(app, ["compare", "bank", str(binary), "--model", "fake:test"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"cannot read {binary}: binary file" in result.output


def test_labelled_examples_sidecars_and_evaluation_data_are_read_as_a_corpus_is(tmp_path: Path) -> None:
    examples = _legacy(tmp_path / "ex.tsv", "drink\tA [[café]] au lait.\nplace\tThe [[café]] opened.\n")
    assert [(e.sense, e.text) for e in read_labelled(examples, "café")] == [
        ("drink", "A café au lait."), ("place", "The café opened.")]
    sidecar = _legacy(tmp_path / "metadata.csv", "file,author\na.txt,Renée\n")
    assert read_sidecar(sidecar) == {"a.txt": {"author": "Renée"}}
    word = tmp_path / "café"
    word.mkdir()
    _legacy(word / "train.data.txt", "1\tLe café noir.\n")
    _legacy(word / "train.gold.txt", "0\n")
    _legacy(word / "classes_map.txt", json.dumps({"0": "boisson_café"}, ensure_ascii=False))
    data = read_coarsewsd_word(word)
    assert data.items[0].text == "Le café noir." and data.classes == {"0": "boisson_café"}


def test_a_paragraph_of_invisible_characters_is_no_sentence() -> None:
    from sensesearch.segment import split_sentences

    text = "Real text here.\n\n\u200b\ufeff\u00ad\n\nMore text."
    assert [text[s:e] for s, e in split_sentences(text)] == ["Real text here.", "More text."]


def test_a_document_named_in_another_unicode_form_is_found_by_every_command(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "cafe\u0301.txt").write_text("The bank by the café.\n")  # decomposed, as macOS names files
    (corpus / "other.txt").write_text("Another bank.\n")
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(corpus), "--index", index, "--model", "fake:test", "--quiet"]).exit_code == 0
    typed = "caf\u00e9.txt"
    hits = runner.invoke(app, ["usages", "bank", "-d", typed, "--index", index, "--json"])
    assert hits.exit_code == 0, hits.output
    assert [Path(h["document"]).name for h in json.loads(hits.stdout)] == ["cafe\u0301.txt"]
    removed = runner.invoke(app, ["remove", str(corpus / typed), "--index", index, "--json"])
    assert removed.exit_code == 0, removed.output
    assert [Path(label).name for label in json.loads(removed.stdout)["removed"]] == ["cafe\u0301.txt"]


def test_compare_names_a_line_without_the_word_before_the_model_loads(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sensesearch

    def no_model(*_: object) -> None:
        raise AssertionError("the model loaded before the lines were checked")

    monkeypatch.setattr(sensesearch, "load_encoder", no_model)
    lines = _legacy(tmp_path / "l.txt", "We sat at the café.\nThe tea was cold.\n")
    result = runner.invoke(app, ["compare", "café", str(lines), "--model", "fake:test"])
    assert result.exit_code == 1 and "line 2: 'café' does not occur" in result.output
    marked = _legacy(tmp_path / "m.txt", "The [[café]] opened.\nan [[unclosed marker\n")
    result = runner.invoke(app, ["compare", "café", str(marked), "--model", "fake:test"])
    assert result.exit_code == 1 and "line 2: unbalanced" in result.output


def _indexed(tmp_path: Path, files: dict[str, str]) -> str:
    corpus = tmp_path / "corp"
    for name, text in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    index = str(tmp_path / "idx")
    result = runner.invoke(app, ["index", str(corpus), "--index", index, "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


def _would_remove(index: str, name: str) -> list[str]:
    result = runner.invoke(app, ["remove", name, "--index", index, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    return sorted(Path(label).name for label in json.loads(result.stdout)["would_remove"])


def test_a_folder_name_never_takes_a_sibling_file_named_folder_hash(tmp_path: Path) -> None:
    index = _indexed(tmp_path, {"a/notes.txt": "A note on the bank.\n", "a#1.txt": "Money went to the bank.\n"})
    assert _would_remove(index, str(tmp_path / "corp" / "a")) == ["notes.txt"]


def test_a_file_named_as_a_record_s_key_never_replaces_the_record(tmp_path: Path) -> None:
    """A text file x.jsonl#r1.txt beside x.jsonl, whose record "r1.txt" has the key x.jsonl#r1.txt too: indexed after
    the record, the file had replaced it ("1 replaced"); read in one run with it, it was skipped as "another document
    with the same id". Keys stay as they are; the later comer is skipped, saying which document holds its key."""
    corpus = tmp_path / "corp"
    corpus.mkdir()
    (corpus / "x.jsonl").write_text(json.dumps({"id": "r1.txt", "text": "The record about the bank."}) + "\n")
    (corpus / "x.jsonl#r1.txt").write_text("The file about the river bank.\n")
    index = str(tmp_path / "idx")
    record = runner.invoke(app, ["index", str(corpus / "x.jsonl"), "--index", index, "--model", "fake:test", "-q"])
    assert record.exit_code == 0, record.output
    file = runner.invoke(app, ["index", str(corpus / "x.jsonl#r1.txt"), "--index", index, "--model", "fake:test"])
    held = str(corpus / "x.jsonl#r1.txt")
    assert file.stderr.splitlines()[-1] == (
        f"Error: nothing was indexed: the input was skipped (first: {held}: its path {held!r} is also the name of "
        f"record 'r1.txt' of {str(corpus / 'x.jsonl')!r} (FILE#ID), which came first: rename the file to index both)")
    listed = json.loads(runner.invoke(app, ["documents", "--index", index, "--json"]).stdout)
    assert [(d["label"], d["occurrences"]) for d in listed] == [("r1.txt", 5)], listed
    (corpus / "x.jsonl").unlink()
    both = str(tmp_path / "both")
    runner.invoke(app, ["index", held, "--index", both, "--model", "fake:test", "-q"])
    (corpus / "x.jsonl").write_text(json.dumps({"id": "r1.txt", "text": "The record about the bank."}) + "\n")
    later = runner.invoke(app, ["index", str(corpus), "--index", both, "--model", "fake:test"])
    assert f"  r1.txt: its name {held!r} (FILE#ID) is also the path of the file {held!r}, which came first: rename " \
           "that file to index both" in later.stderr.splitlines(), later.stderr


def test_the_documents_a_refused_name_may_mean_are_quoted_on_the_error_s_one_line(tmp_path: Path) -> None:
    """The paths listed after "is the label of 2 documents" (and "names 2 indexed files") were bare: a line break in
    one broke the error's line; quoted as the name itself is, it stays one line and reads "\\n"."""
    odd = "odd\nname.txt"
    clash = str(tmp_path / "corp" / odd)
    index = _indexed(tmp_path, {odd: "The bank.\n", "r.jsonl": json.dumps({"id": clash, "text": "A bank."})})
    result = runner.invoke(app, ["remove", clash, "--index", index, "--dry-run"])
    error = result.stderr[result.stderr.index("Error: "):]
    assert result.exit_code == 1 and len(error.splitlines()) == 1, error
    assert f"is the label of 2 documents ({clash!r}, {str(tmp_path / 'corp' / 'r.jsonl') + '#' + clash!r})" in error
    index = _indexed(tmp_path / "b", {f"x/{odd}": "The bank.\n", f"y/{odd}": "A bank.\n"})
    result = runner.invoke(app, ["remove", odd, "--index", index, "--dry-run"])
    error = result.stderr[result.stderr.index("Error: "):]
    assert result.exit_code == 1 and len(error.splitlines()) == 1, error
    assert f"names 2 indexed files ({str(tmp_path / 'b' / 'corp' / 'x' / odd)!r}, " in error, error


def test_a_name_that_is_the_label_or_path_of_two_documents_is_refused_not_both_removed(tmp_path: Path) -> None:
    clash = str(tmp_path / "corp" / "other.txt")
    index = _indexed(tmp_path, {"other.txt": "The bank.\n", "r.jsonl": json.dumps({"id": clash, "text": "A bank."})})
    result = runner.invoke(app, ["remove", clash, "--index", index, "--dry-run"])
    assert result.exit_code == 1 and "is the label of 2 documents" in result.output
    composed, decomposed = "\u00c5.txt", "A\u030a.txt"
    index = _indexed(tmp_path / "u", {composed: "One bank.\n", decomposed: "Two banks.\n"})
    typed = str(tmp_path / "u" / "corp" / "\u212b.txt")  # ANGSTROM SIGN: NFC makes it U+00C5 too
    result = runner.invoke(app, ["remove", typed, "--index", index, "--dry-run"])
    assert result.exit_code == 1 and "of 2 documents" in result.output
    assert _would_remove(index, str(tmp_path / "u" / "corp" / composed)) == [composed]


def test_a_label_that_is_also_a_folder_of_other_documents_is_refused_by_remove(tmp_path: Path, monkeypatch) -> None:
    """A JSONL record with id "sub" beside the folder sub/: `remove sub`, typed in the corpus folder, took the record
    alone and left the folder's documents, where the name is as much the folder's path."""
    index = _indexed(tmp_path, {"sub/a.txt": "The bank.\n", "r.jsonl": json.dumps({"id": "sub", "text": "A bank."})})
    monkeypatch.chdir(tmp_path / "corp")
    result = runner.invoke(app, ["remove", "sub", "--index", index, "--dry-run"])
    assert result.exit_code == 1 and "is the label or path of 2 documents" in result.output
    assert _would_remove(index, "./sub") == ["a.txt"]
    assert _would_remove(index, "r.jsonl#sub") == ["sub"]
    monkeypatch.chdir(tmp_path)  # no folder "sub" here: the label names the record alone
    assert _would_remove(index, "sub") == ["sub"]


def test_records_of_a_linked_jsonl_file_are_named_by_the_links_path(tmp_path: Path) -> None:
    """Keys hold the resolved path; a link to a cache file without a suffix (DVC, git-annex) still names a JSONL."""
    corpus = tmp_path / "corp"
    (corpus / "cache").mkdir(parents=True)
    (corpus / "cache" / "3fa9").write_text("\n".join(json.dumps({"id": f"r{i}", "text": "A bank."}) for i in (1, 2)))
    (corpus / "data.jsonl").symlink_to(corpus / "cache" / "3fa9")
    index = str(tmp_path / "idx")
    made = runner.invoke(app, ["index", str(corpus / "data.jsonl"), "--index", index, "--model", "fake:test", "-q"])
    assert made.exit_code == 0, made.output
    assert _would_remove(index, str(corpus / "data.jsonl")) == ["r1", "r2"]


def test_a_text_file_with_a_few_stray_nul_bytes_is_text_and_binary_data_is_not(tmp_path: Path) -> None:
    """A UTF-8 text with one NUL byte from a damaged export was skipped whole as binary, though the README stores a
    NUL as U+FFFD; a file of many NULs, NUL runs or UTF-16 without a byte-order mark stays binary."""
    text = ("The bank raised its rates. " * 20).encode() + b"\x00" + "Caf\u00e9 by the river bank.\n".encode()
    decoded, encoding = decode_bytes(text)
    assert encoding == "utf-8" and decoded.count("\x00") == 1 and decoded.endswith("river bank.\n")
    for binary in (b"\x00\x01[[bank]]\x00", ("The bank. " * 20).encode("utf-16-le"), b"ab\x00\x00cd" + b"x" * 500,
                   b"\x89PNG\r\n\x1a\n" + b"\xff\xd8" * 300 + b"\x00"):
        with pytest.raises(InputError, match="binary"):
            decode_bytes(binary)
    with pytest.raises(InputError, match="as UTF-16 text without a byte-order mark has them: save it as UTF-8"):
        decode_bytes(("The bank. " * 20).encode("utf-16-be"))  # "binary file" alone misled: it is text
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "damaged.txt").write_bytes(text)
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(tmp_path / "c"), "--index", str(index), "--model", "fake:test"])
    assert result.exit_code == 0 and "Indexed 1 document" in result.output, result.output
    hits = json.loads(runner.invoke(app, ["usages", "bank", "--index", str(index), "--json"]).stdout)
    assert any("\ufffd" in hit["sentence"] for hit in hits) and not any("\x00" in hit["sentence"] for hit in hits)


def test_a_large_file_of_nul_bytes_is_skipped_from_its_first_bytes_and_not_called_utf16(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2 GB sparse file named .txt was read whole (66 s, 3.2 GB of memory) before being skipped as binary, and
    was said to look like UTF-16 text: a file of NULs only has NULs at every position, not at every other."""
    assert "UTF-16" not in str(pytest.raises(InputError, decode_bytes, b"\x00" * 4096).value)
    big = tmp_path / "c" / "sparse.txt"
    big.parent.mkdir()
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # sparse: a gigabyte of NULs that takes no disk space
    (tmp_path / "c" / "good.txt").write_text("The bank raised its rates.\n")
    read_sizes: list[int] = []
    real_fdopen = os.fdopen

    class Counted(io.BufferedReader):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            read_sizes.append(len(data))
            return data

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> io.BufferedReader:
        return Counted(real_fdopen(fd, "rb", buffering=0)) if mode == "rb" else real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    skipped = read_text_file(big)
    assert not isinstance(skipped, Document) and skipped.reason == "binary file (contains NUL bytes)"
    assert max(read_sizes) < 1 << 20, read_sizes
    monkeypatch.undo()
    # The file's own bytes were not changed by the sniff: a text file is read whole, from its start.
    text = tmp_path / "c" / "long.txt"
    text.write_text("The bank raised its rates. " * 5000)
    read = read_text_file(text)
    assert isinstance(read, Document) and read.text == "The bank raised its rates. " * 5000
