"""KWIC columns cut and padded by terminal cells, keeping the text nearest the keyword."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.cells import fit_left, fit_right
from sensesearch.kwic import render_kwic
from sensesearch.records import Hit

runner = CliRunner()

CJK = "\u6211\u4eec\u5728\u6cb3\u8fb9\u7684\u94f6\u884c\u9644\u8fd1\u6563\u6b65\u7136\u540e\u770b\u5230\u4e86\u4e00\u4e2a"
SENTENCES = [
    CJK + " bank of the river.",
    "The cafe\u0301 by the old bank is open.",
    "\U0001f600\U0001f600 at the bank of the river \U0001f30a\U0001f30a.",
    "Ze\u0301ro\u200bwidth and combining a\u0300 before the bank and after it a\u0300 too.",
    "A plain bank here.",
]


def _hits() -> list[Hit]:
    hits = []
    for i, sentence in enumerate(SENTENCES):
        start = sentence.index("bank")
        hits.append(Hit(occurrence_id=i, word="bank", sentence=sentence, start=start, end=start + 4,
                        document="d.txt", sentence_id=i, position=0, doc_start=start, score=0.5))
    return hits


def test_fit_keeps_the_nearest_text_and_exact_width() -> None:
    assert fit_left(CJK, 10) == CJK[-5:]
    assert fit_left(CJK, 11) == " " + CJK[-5:]
    assert fit_right("\U0001f600\U0001f600 ab", 5) == "\U0001f600\U0001f600 "
    assert fit_right("\U0001f600\U0001f600 ab", 3) == "\U0001f600 "
    assert fit_left("cafe\u0301", 2) == "fe\u0301" and fit_left("cafe\u0301", 1) == "e\u0301"
    assert fit_right("a\u0300b\u0300c", 2) == "a\u0300b\u0300"
    assert fit_right("document-name.txt", 8, ellipsis=True) == "documen\u2026"


@pytest.mark.parametrize("columns", [100, 60, 45])
def test_lines_align_on_the_keyword_by_cells(columns: int) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=columns, color_system=None, legacy_windows=False)
    hits = _hits()
    render_kwic(hits, console)
    lines = buffer.getvalue().splitlines()[1:]
    assert len(lines) == len(hits)
    columns_at = set()
    for line, hit in zip(lines, hits):
        assert cell_len(line) <= columns
        at = line.index(" bank ") + 1
        columns_at.add(cell_len(line[:at]))
        left = line[7:at].rstrip().lstrip()
        flat_left = " ".join(hit.left.split())
        assert left and flat_left.endswith(left), (left, flat_left)
        right = line[at + 5:].split("d.txt")[0].strip()
        assert " ".join(hit.right.split()).startswith(right)
    assert len(columns_at) == 1


def test_cli_usages_keeps_the_words_before_the_keyword(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "k.txt").write_text(CJK + " bank of the river.\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
    result = CliRunner().invoke(app, ["usages", "bank", "--index", str(tmp_path / "idx")], env={"COLUMNS": "100"})
    assert result.exit_code == 0 and result.exception is None, result.output
    line = result.output.splitlines()[1]
    assert CJK[-7:] + "  bank" in line or CJK[-7:] + " bank" in line


def test_a_negative_score_keeps_its_sign() -> None:
    """The score column held 5 cells and kept a score's end: -0.108 was shown as 0.108, the rows out of order."""
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document="d.txt", sentence_id=i,
                position=1, doc_start=2, score=score) for i, score in enumerate([0.91, -0.1075, -1.0])]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=100, color_system=None))
    assert [line.split()[0] for line in buffer.getvalue().splitlines()[1:]] == ["0.910", "-0.107", "-1.000"]


def test_control_characters_are_drawn_not_obeyed() -> None:
    sentence = "Red \x1b[31mtext\x1b[0m and a bell\x07 by the bank\x00 here."
    start = sentence.index("bank")
    hit = Hit(occurrence_id=0, word="bank", sentence=sentence, start=start, end=start + 4, document="d\x1b.txt",
              sentence_id=0, position=0, doc_start=start, score=None)
    buffer = io.StringIO()
    render_kwic([hit], Console(file=buffer, width=120, color_system=None))
    printed = buffer.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\x00" not in printed
    line = printed.splitlines()[1]
    assert "\u241b[31mtext\u241b[0m and a bell\u2407 by the  bank \u2400 here." in line


def test_bidirectional_overrides_are_drawn_not_obeyed() -> None:
    """A file name or sentence holding U+202E (right-to-left override) made the terminal show what followed it
    backwards; embeddings, overrides and isolates are drawn as U+FFFD, right-to-left text itself is left alone."""
    from sensesearch import terminal_cell, terminal_text

    for control in ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"):
        assert terminal_text(f"evil{control}txt.exe") == "evil\ufffdtxt.exe"
        assert terminal_cell(f"a{control}b") == "a\ufffdb"
    assert terminal_text("שלום bank \u200f") == "שלום bank \u200f"  # a right-to-left mark only places neutrals


def test_document_column_tells_apart_files_of_one_name() -> None:
    """Both c8/a/same.txt and c8/b/same.txt were shown as "same.txt"; a JSONL record keeps its whole id."""
    labels = ["/x/c8/a/same.txt", "/x/c8/b/same.txt", "/x/c8/t.jsonl#a/same.txt", "/y/other.txt"]
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                position=1, doc_start=2) for i, label in enumerate(labels)]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=120, color_system=None))
    shown = [line.split()[-1] for line in buffer.getvalue().splitlines()[1:]]
    assert shown == ["a/same.txt", "b/same.txt", "t.jsonl#a/same.txt", "other.txt"]


def test_a_long_document_name_keeps_its_end() -> None:
    """The 24-cell column cut names at their end, where two folders of one long prefix differ."""
    labels = ["/c/inaugural_addresses_president_washington/same.txt",
              "/c/inaugural_addresses_president_jefferson/same.txt"]
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                position=1, doc_start=2) for i, label in enumerate(labels)]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=120, color_system=None))
    shown = [line.split()[-1] for line in buffer.getvalue().splitlines()[1:]]
    assert shown == ["\u2026ent_washington/same.txt", "\u2026dent_jefferson/same.txt"]


@pytest.mark.parametrize("columns", [120, 40])
def test_names_alike_at_their_end_are_shown_where_they_differ(columns: int) -> None:
    """Two record ids of 52 characters, the same but for the year in their middle, were both shown as the same 24
    cells of their end ("…xxxxxxxxxxxxxxxxxxxxxxx"), so no line said which document it came from."""
    labels = ["report-1901-" + "x" * 40, "report-1950-" + "x" * 40, "/c/a/same.txt", "report-1901-" + "x" * 39 + "y"]
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                position=1, doc_start=2) for i, label in enumerate(labels)]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=columns, color_system=None, legacy_windows=False))
    shown = [line.split()[-1] for line in buffer.getvalue().splitlines()[1:]]
    assert "1901" in shown[0] and "1950" in shown[1] and shown[2] == "same.txt", shown
    assert shown[3].endswith("xy") and len(set(shown)) == 4, shown
    lines = buffer.getvalue().splitlines()
    # The document column starts at one place, and no line ends in padding (a pipe carried it).
    assert len({cell_len(line) - cell_len(line.split()[-1]) for line in lines[1:]}) == 1
    assert all(line == line.rstrip() for line in lines), lines


def test_three_names_parting_at_different_places_are_all_shown_apart() -> None:
    """Ledger ids alike but for a 1 in the middle of their run of zeros, or further on: each name had been shown around
    the last place where it parts from another, so the last two both read "…0000000000010000000000…". Every name of
    the group is now shown at each place where two of them part; two names alone keep their one window."""
    from sensesearch import fit_apart

    plain = "ledger-" + "0" * 40 + "-of-the-final-record.txt"
    names = {"plain": plain, "middle": plain[:20] + "1" + plain[21:], "later": plain[:35] + "1" + plain[36:]}
    assert fit_apart(names, 24) == {"plain": "\u202600000000000\u20260000000000\u2026",
                                    "middle": "\u202600000100000\u20260000000000\u2026",
                                    "later": "\u202600000000000\u20260000010000\u2026"}
    two = {label: names[label] for label in ("plain", "middle")}
    assert fit_apart(two, 24) == {"plain": "\u2026" + "0" * 22 + "\u2026",
                                  "middle": "\u2026" + "0" * 11 + "1" + "0" * 10 + "\u2026"}


def test_records_of_one_id_in_two_files_are_named_by_their_file() -> None:
    """Record "r1" of a/x.jsonl and of b/x.jsonl were both shown as "r1"."""
    files = [("r1", "/c/a/x.jsonl"), ("r1", "/c/b/x.jsonl"), ("r2", "/c/b/x.jsonl"), ("/c/d.txt", "/c/d.txt")]
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                position=1, doc_start=2, path=path) for i, (label, path) in enumerate(files)]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=120, color_system=None))
    assert [line.split()[-1] for line in buffer.getvalue().splitlines()[1:]] == [
        "a/x.jsonl#r1", "b/x.jsonl#r1", "r2", "d.txt"]


def test_a_line_break_in_a_document_name_is_drawn_not_read_as_a_space() -> None:
    """Files "a\nb.txt" and "a b.txt" were both shown as "a b.txt" (terminal.shown flattens white space), in KWIC lines
    and in the page's document_name: the line break is drawn as ␊, a tab as ␉."""
    from sensesearch import document_names

    labels = ["/c/a\nb.txt", "/c/a b.txt", "/c/a\tb.txt"]
    hits = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                position=1, doc_start=2, path=label) for i, label in enumerate(labels)]
    assert [document_names(hits)[(label, label)] for label in labels] == ["a\u240ab.txt", "a b.txt", "a\u2409b.txt"]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=120, color_system=None))
    assert [line[-len("a b.txt"):] for line in buffer.getvalue().splitlines()[1:]] == [
        "a\u240ab.txt", "a b.txt", "a\u2409b.txt"]


def test_a_record_id_holding_a_slash_is_shown_whole(tmp_path: Path) -> None:
    """A JSON Lines record's label is its id, which is no path: "news/2020/01" had been shown as "2020/01" (and in
    the page as "01"), a name neither -d nor `remove` knows. Hits now carry the file the document came from."""
    corpus = tmp_path / "r.jsonl"
    corpus.write_text('{"id": "news/2020/01", "text": "The bank raised its rates."}\n'
                      '{"id": "news/2021/01", "text": "We sat on the river bank."}\n'
                      '{"text": "A bank without an id."}\n')
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "01").write_text("x")  # a file label whose last part is a record id's last part
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test",
                               "-q"]).exit_code == 0
    listed = runner.invoke(app, ["usages", "bank", "--index", str(index)])
    assert listed.exit_code == 0, listed.output
    assert sorted(line.split()[-1] for line in listed.stdout.splitlines()[1:]) == ["news/2020/01", "news/2021/01",
                                                                                  "r.jsonl:3"]
    hits = json.loads(runner.invoke(app, ["usages", "bank", "--index", str(index), "--json"]).stdout)
    assert sorted((h["document"], h["path"]) for h in hits) == sorted([
        ("news/2020/01", str(corpus)), ("news/2021/01", str(corpus)), (f"{corpus}:3", str(corpus))])
    files = [Hit(occurrence_id=i, word="bank", sentence="A bank.", start=2, end=6, document=label, sentence_id=i,
                 position=1, doc_start=2, path=path)
             for i, (label, path) in enumerate([("/x/deep/01", "/x/deep/01"), ("news/2020/01", "/x/r.jsonl")])]
    buffer = io.StringIO()
    render_kwic(files, Console(file=buffer, width=120, color_system=None))
    assert [line.split()[-1] for line in buffer.getvalue().splitlines()[1:]] == ["01", "news/2020/01"]


@pytest.mark.parametrize("columns", [40, 32])
def test_a_narrow_console_keeps_the_end_of_the_document_name(columns: int) -> None:
    """At COLUMNS=40 the contexts kept their 10 cells and the console cropped the line's end: the document column
    showed "bank_lines.tx", the end that tells two documents apart cut off."""
    hits = [Hit(occurrence_id=i, word="bank", sentence=s, start=s.index("bank"), end=s.index("bank") + 4,
                document=name, sentence_id=i, position=0, doc_start=0, score=0.5)
            for i, (s, name) in enumerate([("The bank lowered its rates today.", "corpus/bank_lines.txt"),
                                           ("We sat on the grassy bank of the river.", "corpus/bank_lines.txv")])]
    buffer = io.StringIO()
    render_kwic(hits, Console(file=buffer, width=columns, color_system=None, legacy_windows=False))
    lines = buffer.getvalue().splitlines()
    assert all(cell_len(line) <= columns for line in lines), lines
    assert lines[1].rstrip().endswith("s.txt") and lines[2].rstrip().endswith("s.txv"), lines
    assert " bank " in lines[1] and "The" in lines[1] and "assy" in lines[2], lines
