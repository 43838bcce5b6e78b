"""Issue 15, items 1 and 4-7: wording, progress, repeat queries, documents, tables that fit."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sensesearch import SenseIndex, cli, cli_docs
from sensesearch.config import EncoderSettings
from sensesearch.cli import app
from sensesearch.schema import occurrences

from .conftest import BANK_CORPUS, REPO
from .robust_util import child_env, cli_command, run_cli, write_corpus

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, bank_corpus: Path) -> Path:
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(index), "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"sensesearch \d+\.\d+\.\d+\n", result.output)


def test_a_run_that_encodes_nothing_gives_no_rate(tmp_path: Path, bank_corpus: Path) -> None:
    """A re-run over unchanged files said "0 pieces/s while encoding"."""
    args = ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"]
    assert "pieces/s while encoding) into" in runner.invoke(app, args).output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "(1 unchanged, 0 replaced)" in again.output, again.output
    assert "pieces/s" not in again.output.splitlines()[-1] and " s into " in again.output, again.output


def test_singular_counts(tmp_path: Path, bank_corpus: Path) -> None:
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert "Indexed 1 document (" in result.output and "1 documents" not in result.output
    one = runner.invoke(app, ["senses", "bank", "--index", str(tmp_path / "i"), "-k", "1"])
    assert ": 6 usages in 1 sense." in one.output


def test_progress_without_a_terminal_names_the_phases(tmp_path: Path, bank_corpus: Path) -> None:
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    lines = result.output.splitlines()
    phases = [re.sub(r"^\[[^]]*\] ", "", line) for line in lines if line.startswith("[")]
    assert phases[:2] == ["loading the model", f"reading and encoding ({len(BANK_CORPUS.encode())} bytes)"]
    assert phases[-1] == "saving"
    assert re.search(r"in \d+\.\d s \(", result.output)


def test_saving_is_announced_once_every_chunk_is_encoded(tmp_path: Path, bank_corpus: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line said "saving" at the first chunk written after the input was read to its end, while the
    chunks read ahead were still to encode (the demo corpus: 100% and "saving" 40 s before encoding ended)."""
    from sensesearch import cli_progress, ingest

    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 2)
    heard: list[str] = []
    monkeypatch.setattr(cli_progress.CommandProgress, "phase", lambda self, name, *a, **k: heard.append(name))
    monkeypatch.setattr(cli_progress.CommandProgress, "update", lambda self, *a, **k: heard.append("update"))
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    assert heard.count("update") > 2 and heard.count("saving") == 1, heard
    assert heard.index("saving") > len(heard) - 1 - heard[::-1].index("update"), heard
    with SenseIndex.open(tmp_path / "i") as index:
        phases: list[str] = []
        index.add([bank_corpus], phase=phases.append, progress=lambda *_: phases.append("update"))
    assert phases[-1] == "saving", phases  # the Python API hears it too


def test_a_warning_during_a_bar_is_a_line_of_its_own_above_it() -> None:
    """The command line's log handler (main's) had held the stderr of its start, so a warning logged while a bar was
    drawn (a batch the GPU had no memory for) went onto the bar's own line, after its text, past rich's proxy."""
    import logging

    from sensesearch.cli_options import TerminalLogHandler
    from sensesearch.cli_progress import CommandProgress

    screen = io.StringIO()
    handler = TerminalLogHandler()  # made before the bar, as main makes it
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("sensesearch.test_bar")
    log.addHandler(handler)
    log.propagate = False
    try:
        with CommandProgress(Console(file=screen, force_terminal=True, width=200)) as progress:
            progress.phase("encoding", 1000, "bytes")
            progress.update(100, "chunk 1")
            log.warning("cuda ran out of memory on a batch of 131072 padded tokens")
            progress.update(500, "chunk 2")
    finally:
        log.removeHandler(handler)
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).replace("\r", "\n").splitlines()
    assert "WARNING sensesearch.test_bar: cuda ran out of memory on a batch of 131072 padded tokens" in lines


def test_a_folder_given_with_files_it_leaves_out_adds_no_bytes_to_the_bar(tmp_path: Path) -> None:
    """A skip naming what a folder left out carries the folder's path: its own size (4,096 bytes) took the bar
    past its total ("813.9 kB of 809.8 kB")."""
    from sensesearch.cli_written import file_size

    (tmp_path / "a.txt").write_text("The bank.\n")
    assert file_size(str(tmp_path)) == 0 and file_size(str(tmp_path / "a.txt")) == 10 and file_size("<stdin>") == 0


def test_the_bar_counts_the_bytes_written_not_the_bytes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading runs a chunk and the stored-version lookups ahead of the model: the inaugural corpus showed 59% with
    16% of its sentences encoded, and 100% with 45 s of encoding to go. At every update the bar now stands at the end
    of the last sentence written (a file's end, once its last one is)."""
    from sensesearch import cli_progress, ingest
    from sensesearch.segment import split_sentences

    corpus = tmp_path / "c"
    corpus.mkdir()
    for f in range(4):
        (corpus / f"f{f}.txt").write_text("".join(f"The bank {f} lent money to farmer {i}. " for i in range(7)) + "\n")
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 3)
    heard: list[tuple[float, int]] = []
    monkeypatch.setattr(cli_progress.CommandProgress, "update", lambda self, done, detail="": heard.append(
        (done, int(detail.split(" sentence")[0].replace(",", "")))))
    result = runner.invoke(app, ["index", str(corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    through = []  # bytes of the input through the end of each sentence, in reading order
    before = 0
    for path in sorted(corpus.iterdir()):
        text = path.read_text()
        ends = [end for _, end in split_sentences(text)]
        through += [before + end for end in ends[:-1]] + [before + len(text)]
        before += len(text)
    assert len(heard) == 10 and [done for done, _ in heard] == [through[n - 1] for _, n in heard], (heard, through)
    assert heard[-1] == (before, 28)


def test_written_bytes_reach_a_jsonl_file_end_and_never_go_back(tmp_path: Path) -> None:
    """A JSONL record's text is a part of its line: the file's last record reaches the file's end (the JSON around
    the texts counts); standard input has no size, so its text's bytes are the position."""
    from sensesearch import Document
    from sensesearch.cli_written import WrittenBytes

    records = tmp_path / "r.jsonl"
    records.write_text('{"text": "The bank."}\n{"text": "A bank é."}\n')  # 45 bytes; texts of 9 and 10 bytes
    first, second = (Document(f"{records}#{n}", str(n), str(records), text, "h") for n, text in
                     ((1, "The bank."), (2, "A bank é.")))
    done = WrittenBytes([records])
    assert list(done.read([first, second])) == [first, second]
    done.written(first, 4)
    assert done.position == 4
    done.written(second, 9)  # the whole record: the file's end
    assert done.position == 45
    done.written(first, 9)  # late, from the other thread: never back
    assert done.position == 45
    piped = WrittenBytes(None)
    stdin = Document("<stdin>", "<stdin>", "<stdin>", "Le café.", "h")
    list(piped.read([stdin]))
    piped.written(stdin, 8)
    assert piped.position == 9


def _bar_positions(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from sensesearch import cli_progress

    heard: list[float] = []
    monkeypatch.setattr(cli_progress.CommandProgress, "update", lambda self, done, detail="": heard.append(done))
    return heard


def test_the_bar_stays_inside_its_total_when_a_jsonl_line_or_a_whole_input_is_skipped_or_read_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A skip naming a JSONL line ("r.jsonl:4") ended the file and the next record began it again: the bar stood at
    100% with a third of the sentences written and ended at 2.1 kB of 1.1 kB. A file read twice (a folder and a file
    in it) had its first reading take the place of its second: 92% after the first chunk. An unreadable last file
    left the bar short of its total."""
    from sensesearch import ingest

    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 3)
    corpus = tmp_path / "c"
    corpus.mkdir()
    records = corpus / "a.jsonl"
    with records.open("w") as out:
        for n in range(8):
            if n == 3:
                out.write("not json\n")
            out.write(json.dumps({"id": str(n), "text": f"The bank {n} lent money. It was paid back."}) + "\n")
    for name in "bcd":
        (corpus / f"{name}.txt").write_text(" ".join(f"The bank {name} lent {i}." for i in range(6)) + "\n")
    locked = corpus / "e.txt"
    locked.write_bytes(b"\x00\x01binary" * 10)  # skipped when read: no text
    total = sum(path.stat().st_size for path in corpus.iterdir())
    heard = _bar_positions(monkeypatch)
    result = runner.invoke(app, ["index", str(corpus), str(corpus / "b.txt"), "--index", str(tmp_path / "i"),
                                 "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    total += (corpus / "b.txt").stat().st_size
    assert heard == sorted(heard) and heard[-1] == total, (heard, total)
    assert all(done < 0.9 * total for done in heard[:-2]), (heard, total)


def test_a_file_named_twice_in_a_row_is_placed_twice(tmp_path: Path) -> None:
    """Its second reading begins with its first document again: not a further record of the first reading, which
    the file's size bounded (the bar ended at 50%)."""
    import sensesearch
    from sensesearch.cli_written import WrittenBytes

    for name, text in (("r.jsonl", '{"text": "The bank."}\n{"text": "A bank."}\n'), ("t.txt", "The bank rose.\n")):
        path = tmp_path / name
        path.write_text(text)
        scan = sensesearch.check_paths([path, path])
        moves: list[int] = []
        done = WrittenBytes(scan.files, moved=moves.append)
        docs = [item for item in done.read(sensesearch.read_corpus(scan)) if isinstance(item, sensesearch.Document)]
        done.written(docs[len(docs) // 2 - 1], len(docs[len(docs) // 2 - 1].text))
        assert moves == [len(text)], (name, moves)
        done.written(docs[-1], len(docs[-1].text))
        assert moves == [len(text), 2 * len(text)] and done.total == 2 * len(text), (name, moves)


def test_a_rerun_over_unchanged_files_moves_the_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a chunk written moved the bar: a re-run over unchanged files sat at 0% until it was done, and a changed
    first file left it at 0% with an ETA of 44 min while the other 2,999 files were passed."""
    from sensesearch import ingest

    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 2)
    corpus = tmp_path / "c"
    corpus.mkdir()
    for n in range(5):
        (corpus / f"f{n}.txt").write_text(f"The bank {n} rose. It fell.\n")
    total = sum(path.stat().st_size for path in corpus.iterdir())
    index = ["--index", str(tmp_path / "i"), "--model", "fake:test"]
    assert runner.invoke(app, ["index", str(corpus), *index]).exit_code == 0
    heard = _bar_positions(monkeypatch)
    assert runner.invoke(app, ["index", str(corpus), *index]).exit_code == 0
    assert heard and heard == sorted(heard) and heard[-1] == total, (heard, total)
    heard.clear()
    (corpus / "f0.txt").write_text("The bank changed. It did.\n")
    total = sum(path.stat().st_size for path in corpus.iterdir())
    assert runner.invoke(app, ["index", str(corpus), *index]).exit_code == 0
    assert heard[0] < total and heard == sorted(heard) and heard[-1] == total, (heard, total)


def test_the_written_reports_pass_unchanged_documents_in_corpus_order(tmp_path: Path,
                                                                        fake_settings: EncoderSettings) -> None:
    """A document that needs no encoding counts as written once the documents read before it are: at once, or with
    the changed one before it, which the model has still to read."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name in "abcd":
        (corpus / f"{name}.txt").write_text(f"The bank {name} rose.\n")
    with SenseIndex.create(tmp_path / "i", settings=fake_settings) as index:
        index.add([corpus])
        (corpus / "c.txt").write_text("The bank c fell.\n")
        heard: list[tuple[str, int]] = []
        index.add([corpus], written=lambda doc, chars: heard.append((Path(doc.path).stem, chars)))
    assert heard == [("a", 17), ("b", 17), ("d", 17)]


def test_word_not_found_hints_only_at_options_the_command_has(built: Path) -> None:
    query = runner.invoke(app, ["query", "the [[zebra]]", "--index", str(built)])
    assert query.exit_code == 1 and "--any-word" in query.output
    for args in (["usages", "zebra"], ["senses", "zebra"]):
        result = runner.invoke(app, [*args, "--index", str(built)])
        assert result.exit_code == 1 and "does not occur" in result.output and "--any-word" not in result.output


def test_http_api_hints_only_at_its_own_fields(built: Path) -> None:
    from fastapi.testclient import TestClient

    from sensesearch.server import create_app

    with TestClient(create_app(built), base_url="http://127.0.0.1") as client:
        for path in ("/api/usages?word=zebra", "/api/senses?word=zebra"):
            message = client.get(path).json()["error"]
            assert "does not occur" in message and "any-word" not in message and "any_word" not in message
        message = client.post("/api/query", json={"text": "the [[zebra]]"}).json()["error"]
        assert '"any_word": true' in message and "--any-word" not in message


def test_query_json_hits_carry_left_and_right_and_scores_stay_at_most_one(built: Path) -> None:
    result = runner.invoke(app, ["query", "She asked the [[bank]] for a loan to buy a house.", "--index", str(built),
                                 "--json"])
    hits = json.loads(result.stdout)
    assert hits and all(h["left"] == h["sentence"][:h["start"]] and h["right"] == h["sentence"][h["end"]:]
                        for h in hits)
    assert all(h["score"] <= 1.0 for h in hits)


def test_documents_lists_labels_paths_and_counts(built: Path, bank_corpus: Path) -> None:
    data = json.loads(runner.invoke(app, ["documents", "--index", str(built), "--json"]).stdout)
    assert [d["label"] for d in data] == [str(bank_corpus / "bank.txt")]
    assert data[0]["sentences"] == 6 and data[0]["occurrences"] > 6 and data[0]["path"].endswith("bank.txt")
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["documents", "--index", str(built), "--csv"]).stdout)))
    assert rows[0]["label"].endswith("bank.txt") and rows[0]["sentences"] == "6"
    table = runner.invoke(app, ["documents", "--index", str(built)])
    assert "bank.txt" in table.stdout and "1 document," in table.output


def test_documents_marks_a_document_a_stopped_run_cut_short(tmp_path: Path) -> None:
    """A document an ingest run stopped inside (its checkpoint fell in it, then the run was killed) had been listed with
    the sentences it got as if whole; only verify said so."""
    import sqlite3

    corpus = write_corpus(tmp_path / "corpus", n_docs=2, n_sentences=6)
    index = tmp_path / "i"
    assert runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test"]).exit_code == 0
    with sqlite3.connect(index / "meta.sqlite") as db:  # as a killed run leaves it: committed up to a checkpoint
        db.execute("UPDATE documents SET sentences_total = n_sentences + 3 WHERE label LIKE '%d001.txt'")
    data = json.loads(runner.invoke(app, ["documents", "--index", str(index), "--json"]).stdout)
    assert [(d["sentences"], d["sentences_total"]) for d in data] == [(6, None), (6, 9)]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["documents", "--index", str(index), "--csv"]).stdout)))
    assert [row["sentences_total"] for row in rows] == ["", "9"]
    table = runner.invoke(app, ["documents", "--index", str(index)])
    assert table.exit_code == 0 and "6 of 9" in table.stdout
    assert "1 cut short by a run that stopped" in table.stderr and "`verify --repair` removes it" in table.stderr


@pytest.mark.parametrize("name", ["bank.txt", "{corpus}/bank.txt", "{corpus}", "{label}"])
def test_document_filter_takes_a_label_a_path_or_a_unique_base_name(built: Path, bank_corpus: Path, name: str) -> None:
    name = name.format(corpus=bank_corpus, label=str(bank_corpus / "bank.txt"))
    result = runner.invoke(app, ["usages", "bank", "--index", str(built), "-d", name, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 6


def test_document_filter_that_matches_nothing_says_so(built: Path) -> None:
    for args in (["usages", "bank"], ["query", "the [[bank]]"], ["senses", "bank"]):
        result = runner.invoke(app, [*args, "--index", str(built), "-d", "1946-Truman.txt"])
        assert result.exit_code == 1 and "no indexed document matches '1946-Truman.txt'" in result.output


def test_two_stdin_inputs_get_distinct_labels(tmp_path: Path) -> None:
    index = str(tmp_path / "i")
    for text in ("The bank raised rates.", "The river bank flooded."):
        result = runner.invoke(app, ["index", "-", "--index", index, "--model", "fake:test", "--quiet"], input=text)
        assert result.exit_code == 0, result.output
    labels = [d["label"] for d in json.loads(runner.invoke(app, ["documents", "--index", index, "--json"]).stdout)]
    assert len(labels) == 2 and len(set(labels)) == 2 and all(label.startswith("<stdin>") for label in labels)


def test_query_file_answers_every_line_with_one_model_load(built: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import encoder as encoder_module

    from .fake_encoder import FakeEncoder

    loads = []
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", lambda s, d: loads.append(1) or FakeEncoder(s))
    queries = tmp_path / "q.txt"
    queries.write_text("Money in the [[bank]].\n\nWe sat on the [[bank]] of the river.\nA [[zebra]] ran.\n")
    result = runner.invoke(app, ["query", "--file", str(queries), "--index", str(built), "-k", "2", "--json"])
    answers = json.loads(result.stdout)
    assert [a["line"] for a in answers] == [1, 3, 4] and [len(a["hits"]) for a in answers] == [2, 2, 0]
    assert "does not occur" in answers[2]["error"] and result.exit_code == 1 and len(loads) == 1
    # CSV: one header, then every answered line's rows (the first line's rows were lost, its header left unended).
    table = runner.invoke(app, ["query", "--file", str(queries), "--index", str(built), "-k", "2", "--csv"])
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [row["line"] for row in rows] == ["1", "1", "3", "3"] and table.stdout.count("\"line\",\"query\"") == 1
    assert all(row["word"] == "bank" and float(row["score"]) <= 1 for row in rows)
    bad = tmp_path / "bad.txt"
    bad.write_text("fine [[bank]]\nno marker here\n")
    refused = runner.invoke(app, ["query", "--file", str(bad), "--index", str(built)])
    assert refused.exit_code == 1 and "line 2" in refused.output and not loads[2:]  # refused before a third load


def test_query_file_by_sense_reports_a_line_without_senses_and_answers_the_others(built: Path, tmp_path: Path) -> None:
    """A line whose marked word had no sense inventory (or not that sense) ended the whole batch with one unnamed
    error: the lines before it, answered already, were lost under --json."""
    with SenseIndex.open(built) as index:
        index.sense("bank").add("river", ["We walked along the [[bank]] of the river."])
        index.sense("bank").add("money", ["She paid money into the [[bank]]."])
    queries = tmp_path / "q.txt"
    queries.write_text("The [[bank]] lent money.\nThe [[river]] rose.\nWe sat on the [[bank]].\n")
    result = runner.invoke(app, ["query", "--file", str(queries), "--index", str(built), "--sense", "river",
                                 "-k", "1", "--json"])
    answers = json.loads(result.stdout)
    assert [a["line"] for a in answers] == [1, 2, 3] and [len(a["hits"]) for a in answers] == [1, 0, 1]
    assert "no sense inventory" in answers[1]["error"] and result.exit_code == 1
    assert "line 2:" in result.stderr and "1 query of 3 failed" in result.stderr
    # A sense the marked word lacks fails that line only, too.
    queries.write_text("The [[bank]] lent money.\n")
    other = runner.invoke(app, ["query", "--file", str(queries), "--index", str(built), "--sense", "finance"])
    assert other.exit_code == 1 and "line 1: 'bank' has no sense 'finance'" in other.stderr


def test_the_shell_speaks_its_own_commands_in_hints(built: Path) -> None:
    """A word the index lacks was told to "try --any-word", an option the shell has no way to take (`:any on` is
    its command), and `:usages` without a word to "mark a word with [[ ]]"."""
    result = runner.invoke(app, ["shell", "--index", str(built)], input="The [[zebra]] ran.\n:usages\n:any on\n"
                                                                        "The [[zebra]] ran.\n:quit\n")
    assert result.exit_code == 0, result.output
    assert "does not occur in the index; type :any on to search usages of every word" in result.stderr
    assert "--any-word" not in result.stderr and "Error: :usages takes a word, e.g. :usages bank" in result.stderr
    assert result.stdout.count("zebra") == 0 and "score" in result.stdout  # answered once any-word is on


def test_the_shell_lists_records_of_one_id_in_two_files_apart(tmp_path: Path) -> None:
    """`:documents` listed the records r1 of a/x.jsonl and b/x.jsonl as two lines "r1"; they read as the KWIC lines
    name them."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.jsonl").write_text(json.dumps({"id": "r1", "text": "The bank lent money."}) + "\n")
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["index", str(tmp_path / "a"), str(tmp_path / "b"), "--index", index, "--model",
                               "fake:test", "-q"]).exit_code == 0
    result = runner.invoke(app, ["shell", "--index", index], input=":documents\n:quit\n")
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.splitlines()) == ["a/x.jsonl#r1  (4 occurrences)", "b/x.jsonl#r1  (4 occurrences)"]


def test_shell_keeps_the_model_and_survives_errors(built: Path) -> None:
    # ":k ²": "²".isdigit() is true, but int() refuses it (it used to end the shell with "unexpected ValueError").
    script = "Money in the [[bank]].\nno marker\n:k ²\n:k 1\n:sort left\nWe sat on the [[bank]].\n:usages bank\n:quit\n"
    result = runner.invoke(app, ["shell", "--index", str(built)], input=script)
    assert result.exit_code == 0, result.output
    assert "Error: mark the word" in result.output and result.output.count("bank") >= 8
    # A command given a value it cannot take says what it takes (":k 0" said "mark a word with [[ ]]").
    wrong = runner.invoke(app, ["shell", "--index", str(built)], input=":k 0\n:any maybe\n:sort up\n:quit\n")
    assert wrong.exit_code == 0, wrong.output
    assert ":k takes a whole number of hits from 1, not '0'" in wrong.output and "mark a word" not in wrong.output
    assert ":any takes on or off, not 'maybe'" in wrong.output and ":sort takes score, left, right" in wrong.output


def _compare_lines(tmp_path: Path, n: int) -> Path:
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"Sentence number {i} says the bank by the long river held money for years.\n"
                             for i in range(n)))
    return lines


@pytest.mark.parametrize("n", [4, 9, 16])
def test_compare_fits_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_docs, "out", Console(file=buffer, width=80, soft_wrap=False, markup=False))
    result = runner.invoke(app, ["compare", "bank", str(_compare_lines(tmp_path, n)), "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    shown = buffer.getvalue()
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert f"Sentence number {n - 1} says the bank" in shown.replace("\n", " ").replace("  ", " ")
    assert re.search(rf"^\s*{n}\b", shown, flags=re.MULTILINE) and "1.000" in shown


def test_compare_json_is_rounded_as_the_table_shows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", "bank", str(REPO / "corpora" / "demo" / "bank_lines.txt"),
                                 "--model", "fake:test", "--json"])
    matrix = json.loads(result.stdout)["similarity"]
    assert all(len(repr(v).split(".")[-1]) <= cli_docs.DIGITS and -1.0 <= v <= 1.0 for row in matrix for v in row)
    assert cli.plural(1, "sense") == "1 sense" and cli.plural(2, "query", "queries") == "2 queries"


def test_compare_never_prints_a_negative_zero(tmp_path: Path) -> None:
    """A cosine just below 0 rounded to -0.0: JSON and CSV said -0.0, the table -0.000 (the fake encoder gives
    these two lines a cosine of about -0.00002)."""
    lines = tmp_path / "lines.txt"
    lines.write_text("The river bank was muddy.\nShe sat on the [[banks]] of the river. The bank was closed.\n")
    as_json = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["similarity"][0][1] == 0.0 and "-0.0" not in as_json.stdout
    for fmt in (["--csv"], []):
        shown = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", *fmt]).stdout
        assert "-0.0" not in shown and "0.0" in shown


def test_a_plot_that_cannot_be_written_keeps_the_report(built: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sensesearch

    def full_disk(report: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sensesearch, "plot_senses", full_disk)
    result = runner.invoke(app, ["senses", "bank", "--index", str(built), "-k", "2", "--plot", str(tmp_path / "b.png")])
    assert result.exit_code == 1 and "sense 2" in result.stdout
    assert "Error: cannot write the plot" in result.output and "No space left" in result.output


def test_control_characters_from_names_metadata_and_input_never_reach_the_terminal(tmp_path: Path) -> None:
    """A file name, a metadata value, a compared line or a typed word holding an ESC sequence was printed raw by
    `documents`, `compare`, `sense list` and error lines (KWIC lines already drew them): now drawn everywhere."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "red\x1b[31m.txt").write_text("The bank raised its rates.\n")
    (corpus / "r.jsonl").write_text('{"id": "x\\u001b[2J", "text": "We sat on the river bank.", "src": "a\\u001b[1mb"}\n')
    lines = tmp_path / "lines.txt"
    lines.write_text("the bank \x1b[31m lent\nthe river bank\n")
    index = tmp_path / "idx"
    runs = [["index", str(corpus), "--index", str(index), "--model", "fake:test"], ["documents", "--index", str(index)],
            ["compare", "bank", str(lines), "--model", "fake:test"], ["usages", "bank\x1b[31m", "--index", str(index)],
            ["sense", "list", "--index", str(index)]]
    for args in runs:
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert "\x1b" not in result.output, (args, result.output)
    assert "\u241b" in runner.invoke(app, ["documents", "--index", str(index)]).output



def test_names_listed_by_remove_and_index_stay_on_one_line_each(tmp_path: Path) -> None:
    """`remove` printed a line break in a file name raw, so a crafted name showed a made-up extra line in the list of
    what was removed (ESC and CR were drawn); the skipped and "not read this time" lists of `index` alike."""
    corpus = tmp_path / "esc"
    corpus.mkdir()
    (corpus / "red\x1b[31mX\r\nname.txt").write_text("The bank is red.\n")
    (corpus / "plain.txt").write_text("The bank is plain.\n")
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test"]).exit_code == 0
    (corpus / "red\x1b[31mX\r\nname.txt").unlink()
    (corpus / "bad\nname.txt").write_bytes(b"\x00\x01binary")
    again = runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test"])
    assert again.exit_code == 0, again.output
    skipped = [line for line in again.output.splitlines() if "name.txt" in line]
    # Line breaks are drawn (␍␊), not made spaces: "bad\nname.txt" never prints as a file "bad name.txt" would.
    assert len(skipped) == 2 and "esc/bad\u240aname.txt: binary" in skipped[0] and "X\\r\\nname.txt')" in skipped[1]
    documents = runner.invoke(app, ["documents", "--index", str(index)], terminal_width=400)
    assert documents.exit_code == 0 and "X\u240d\u240aname.txt" in documents.stdout, documents.stdout
    removed = runner.invoke(app, ["remove", str(corpus), "--index", str(index)])
    assert removed.exit_code == 0, removed.output
    listed = removed.stdout.splitlines()
    assert len(listed) == 4 and "\x1b" not in removed.stdout and "\r" not in removed.stdout, listed
    assert any(line.strip().endswith("red\u241b[31mX\u240d\u240aname.txt") for line in listed), listed


def test_lines_written_to_a_file_or_pipe_are_never_broken_at_80_columns(tmp_path: Path, bank_corpus: Path) -> None:
    """Found by CI: rich wrapped output that is not a terminal at 80 columns, so a long index path put a line break
    inside a verify problem's words (and a path's), and grep or a script reading the output missed them."""
    index = tmp_path / ("a-folder-name-long-enough-to-push-every-line-past-eighty-columns" * 2) / "idx"
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(index), "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(app, ["verify", "--index", str(index), "--no-model"])
    assert checked.exit_code == 0 and checked.stdout.splitlines()[0].startswith(f"{index}: 1 document, ")
    assert checked.stdout.splitlines()[1] == "sound: every vector has its row and every row its vector"
    # FORCE_COLOR (set by many CI systems) makes rich call a pipe a terminal; the line must stay whole there too.
    piped = io.StringIO()
    cli.TerminalConsole(file=piped, force_terminal=True, soft_wrap=False).print("word " * 40)
    assert piped.getvalue().count("\n") == 1


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_a_reader_that_stops_early_is_no_failure(tmp_path: Path, fmt: list[str]) -> None:
    """`usages the | head -1`: the table, JSON and CSV all exit 0, silently, as the reader goes away (rich's
    default is exit 1)."""
    corpus = write_corpus(tmp_path / "corpus", 4, 400)
    index = tmp_path / "idx"
    assert run_cli("index", corpus, "--index", index, "--model", "fake:test", "--quiet").returncode == 0
    child = subprocess.Popen(cli_command("usages", "doc", "--index", index, "--limit", "100000", *fmt),
                             env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert child.stdout is not None and child.stdout.readline()
    child.stdout.close()
    _, errors = child.communicate(timeout=120)
    assert child.returncode == 0 and not errors, errors
    # A query file whose first line failed still fails when the reader stops early (it exited 0, its summary lost).
    queries = tmp_path / "q.txt"
    queries.write_text("The [[zyzzyva]] word.\n" + "The [[doc]] says it.\n" * 30)
    child = subprocess.Popen(cli_command("query", "--file", queries, "--index", index, "-k", "500", *fmt),
                             env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert child.stdout is not None and child.stdout.readline()
    child.stdout.close()
    _, errors = child.communicate(timeout=120)
    assert child.returncode == 1 and b"1 query of 31 failed" in errors, errors


def test_documents_shows_metadata_values_as_json_spells_them(tmp_path: Path) -> None:
    """A JSON null showed as Python's None (year=None), true as True."""
    records = tmp_path / "r.jsonl"
    records.write_text('{"id": "r1", "year": null, "urgent": true, "n": 1.5, "who": "Ann", "text": "The bank."}\n')
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(records), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    table = runner.invoke(app, ["documents", "--index", str(index)])
    assert table.exit_code == 0 and "year=null, urgent=true, n=1.5, who=Ann" in table.stdout, table.stdout


def test_documents_metadata_fields_read_apart_whatever_their_keys_and_values_hold(tmp_path: Path) -> None:
    """The metadata column joined KEY=VALUE pairs with ", " and wrote keys and values bare: a title "War, and peace"
    read as a field "and peace" with no value, a key "a, b" as two keys, and the text "true" as the JSON true."""
    records = tmp_path / "r.jsonl"
    meta = {"title": "War, and peace", "a, b": "x", "flag": "true", "pad": " x", "empty": "", "who": "Ann Lee",
            "sum": "1+1=2", "ok": True}
    records.write_text(json.dumps({"id": "r1", **meta, "text": "The bank."}) + "\n")
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(records), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    table = runner.invoke(app, ["documents", "--index", str(index)], terminal_width=400)
    assert table.exit_code == 0, table.output
    want = ('title="War, and peace", "a, b"=x, flag="true", pad=" x", empty="", who=Ann Lee, sum=1+1=2, '
            'ok=true')
    assert want in table.stdout, table.stdout

    # A line break in a value broke the row in two, and a zero-width space or NBSP read as nothing or a space: each is
    # written as its JSON escape, and a key so written is the condition that finds the document.
    meta = {"note": "a\nb", "x\u200b": "x\u00a0y", "tab": "a\tb"}
    records = tmp_path / "r2.jsonl"
    records.write_text(json.dumps({"id": "r1", **meta, "text": "The bank."}) + "\n")
    index = tmp_path / "idx2"
    assert runner.invoke(app, ["index", str(records), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    table = runner.invoke(app, ["documents", "--index", str(index)], terminal_width=400)
    row = [line for line in table.stdout.splitlines() if "r1" in line]
    assert table.exit_code == 0 and len(row) == 1, table.stdout
    assert 'note="a\\nb", "x\\u200b"="x\\u00a0y", tab="a\\tb"' in row[0], table.stdout
    found = runner.invoke(app, ["usages", "bank", "--index", str(index), "--where", '"x\\u200b"=x\u00a0y'])
    assert found.exit_code == 0 and "r1" in found.stdout, found.output


def test_a_table_written_to_a_pipe_keeps_each_row_on_one_line(tmp_path: Path, bank_corpus: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`documents | grep NAME` found half a label: written to a pipe, a table was still laid out at COLUMNS (or 80)
    and a long path folded onto the next line."""
    folder = tmp_path / ("a-folder-name-long-enough-to-push-a-label-past-any-width" * 2)
    folder.mkdir()
    (folder / "bank.txt").write_text((bank_corpus / "bank.txt").read_text())
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(folder), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    monkeypatch.setattr(cli.out, "_width", 40)  # as COLUMNS=40 would
    table = runner.invoke(app, ["documents", "--index", str(index)])
    lines = table.stdout.splitlines()
    assert table.exit_code == 0 and len(lines) == 2 and str(folder / "bank.txt") in lines[1], table.stdout
    assert lines[0].split() == ["document", "path", "sentences", "occurrences", "metadata"]


@pytest.mark.parametrize("args", [["usages", "doc"], ["info", "--json"], ["--version"]])
def test_a_command_started_with_standard_output_closed_says_so(tmp_path: Path, args: list[str]) -> None:
    """`usages doc --index I >&-` exited 0 with its answer lost (Python leaves sys.stdout None and rich then writes
    nowhere), and `info --json >&-` failed as an unexpected AttributeError."""
    corpus = write_corpus(tmp_path / "corpus", 1, 50)
    index = tmp_path / "idx"
    assert run_cli("index", corpus, "--index", index, "--model", "fake:test", "--quiet").returncode == 0
    given = args if args[0].startswith("--") else [*args, "--index", str(index)]
    closed = subprocess.run(cli_command(*given), env=child_env(), stderr=subprocess.PIPE, text=True, cwd=REPO,
                            preexec_fn=lambda: os.close(1), timeout=120, check=False)
    assert closed.returncode == 1, closed.stderr
    assert closed.stderr.strip() == ("Error: standard output is closed, so the answer cannot be printed (send it to "
                                     "/dev/null to discard it)")
    # A command that prints nothing on standard output still runs.
    added = subprocess.run(cli_command("index", corpus, "--index", index, "--quiet"), env=child_env(),
                           stderr=subprocess.PIPE, text=True, cwd=REPO, preexec_fn=lambda: os.close(1), timeout=120,
                           check=False)
    assert added.returncode == 0, added.stderr


def test_a_held_write_lock_names_wait_only_where_the_command_has_it(built: Path) -> None:
    """"another process is writing ...; try again when it is done" never said that --wait waits for it, nor how long a
    run that had waited waited."""
    from sensesearch.folder import acquire_write_lock

    lock = acquire_write_lock(built, 0)
    try:
        at_once = runner.invoke(app, ["remove", "bank.txt", "--index", str(built)])
        waited = runner.invoke(app, ["remove", "bank.txt", "--index", str(built), "--wait", "0.2"])
        repair = runner.invoke(app, ["verify", "--repair", "--index", str(built)])
    finally:
        lock.release()
    assert at_once.exit_code == 1 and at_once.stderr.rstrip().endswith(
        "try again when it is done, or wait for it with --wait SECONDS"), at_once.stderr
    assert waited.exit_code == 1 and waited.stderr.rstrip().endswith("(waited 0.2 s)"), waited.stderr
    assert repair.exit_code == 1 and repair.stderr.rstrip().endswith("try again when it is done"), repair.stderr


def test_compare_names_rows_by_the_file_lines_its_errors_name(tmp_path: Path) -> None:
    """Rows and columns were numbered over the non-blank lines while an error named the file's line ("line 5"), so
    with blank lines in the file the row "3" was line 5 in an editor."""
    lines = tmp_path / "lines.txt"
    lines.write_text("The bank raised rates.\n\nWe sat on the river bank.\n\nThe bank of the canal.\n")
    table = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test"])
    assert table.exit_code == 0, table.output
    rows = table.stdout.splitlines()
    assert rows[0].split()[-3:] == ["1", "3", "5"] and [r.split()[0] for r in rows[1:]] == ["1", "3", "5"], rows
    as_csv = list(csv.reader(io.StringIO(runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test",
                                                              "--csv"]).stdout)))
    assert as_csv[0][2:] == ["1", "3", "5"] and [r[0] for r in as_csv[1:]] == ["1", "3", "5"], as_csv
    as_json = json.loads(runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test", "--json"]).stdout)
    assert as_json["lines"] == [1, 3, 5] and len(as_json["sentences"]) == 3
    lines.write_text("The bank raised rates.\n\nWe sat on the river bank.\n\nThe [[river]] by the bank.\n")
    wrong = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test"])
    assert wrong.exit_code == 1 and "line 5:" in wrong.stderr, wrong.output


def test_reindex_names_each_step_as_it_runs(built: Path) -> None:
    """One phase, "loading the model, then encoding the stored sentences again", had stood all through the encoding
    and, at 100%, through the codes' training, the layout and the save."""
    result = runner.invoke(app, ["reindex", "--index", str(built)])
    assert result.exit_code == 0, result.output
    phases = [re.sub(r"^\[[^]]*\] ", "", line) for line in result.stderr.splitlines() if line.startswith("[")]
    assert phases == ["loading the model", "encoding the stored sentences again (61 usages)",
                      "training the codes, laying out and saving the vectors"], result.stderr


def test_a_run_that_waits_for_the_write_lock_says_so_and_who_holds_it(built: Path, bank_corpus: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`index --wait 30` showed "loading the model" all the while it waited for another run's write lock."""
    import threading
    import time

    from sensesearch import cli_progress
    from sensesearch.folder import acquire_write_lock

    heard: list[str] = []
    monkeypatch.setattr(cli_progress.CommandProgress, "phase", lambda self, name, *a, **k: heard.append(name))
    args = ["index", str(bank_corpus), "--index", str(built), "--model", "fake:test", "--wait", "30"]
    assert runner.invoke(app, args).exit_code == 0 and heard[0] == "loading the model", heard  # no wait: as before
    for command in (args, ["remove", "bank.txt", "--index", str(built), "--wait", "30"]):
        heard.clear()
        held = threading.Event()

        def hold() -> None:  # a FileLock is released by the thread that took it
            lock = acquire_write_lock(built, 0)
            held.set()
            time.sleep(0.5)
            lock.release()

        threading.Thread(target=hold).start()
        held.wait()
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        # The holder is named where the system tells it (Linux: /proc/locks), here this very test process.
        holder = f"process {os.getpid()}" if Path("/proc/locks").exists() else "another process"
        assert heard[0].startswith(f"waiting for the write lock of {built}, held by {holder}"), heard
        assert heard[1:2] == (["loading the model"] if command is args else []), heard


def test_a_huge_metadata_value_is_cut_in_tables_and_whole_in_json_and_csv(tmp_path: Path) -> None:
    """A 5,000-character metadata value made every row of `documents` and `senses --by` 5,000 columns wide when
    piped; --json and --csv must still carry it whole, and labels stay whole (grep finds them)."""
    huge = "x" * 5000
    records = tmp_path / "r.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in (
        {"id": "r1", "year": 1900, "note": huge, "text": "The bank raised its rates."},
        {"id": "L" * 300, "year": 1950, "note": "short", "text": "We sat on the river bank."})))
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(records), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    table = runner.invoke(app, ["documents", "--index", str(index)])
    assert table.exit_code == 0 and huge not in table.stdout and "note=" + "x" * 20 in table.stdout, table.stdout
    lines = table.stdout.splitlines()
    assert len(lines) == 3 and any("L" * 300 in line for line in lines) and max(map(len, lines)) < 300 + 200, lines
    by = runner.invoke(app, ["senses", "bank", "--by", "note", "-k", "1", "--index", str(index)])
    assert by.exit_code == 0 and huge not in by.stdout and "…" in by.stdout, by.stdout
    assert max(len(line) for line in by.stdout.splitlines()) <= cli.CELL_WIDTH + 40, by.stdout
    # No row ends in its cells' padding: the short ones had carried spaces up to the widest row's width.
    assert all(line == line.rstrip() for line in [*lines, *by.stdout.splitlines()]), lines
    as_json = json.loads(runner.invoke(app, ["documents", "--index", str(index), "--json"]).stdout)
    assert huge in [d["meta"]["note"] for d in as_json]
    assert huge in runner.invoke(app, ["documents", "--index", str(index), "--csv"]).stdout
    assert huge in runner.invoke(app, ["senses", "bank", "--by", "note", "-k", "1", "--index", str(index), "--csv"]).stdout


def test_the_bar_moves_evenly_through_one_large_jsonl_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a JSONL file a record lay at its texts' bytes alone, the JSON around them added when the last record was
    written: 89% at 1,400 of a file's 1,426 sentences, then 100%. A record now stands at its line's end."""
    from sensesearch import cli_progress, ingest

    records = tmp_path / "r.jsonl"
    lines = [json.dumps({"id": f"r{i}", "source": "a long field of metadata " * 4, "text": f"The bank {i} lent money."})
             + ("\r\n" if i % 3 else "\n") for i in range(12)]
    records.write_text("".join(lines), newline="")
    ends = [len("".join(lines[:i + 1]).encode()) for i in range(len(lines))]
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 3)
    heard: list[float] = []
    monkeypatch.setattr(cli_progress.CommandProgress, "update", lambda self, done, detail="": heard.append(done))
    result = runner.invoke(app, ["index", str(records), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert result.exit_code == 0, result.output
    assert heard == [ends[2], ends[5], ends[8], ends[11]], (heard, ends)


def test_names_alike_but_for_their_unicode_form_are_listed_apart(tmp_path: Path) -> None:
    """A composed "\u00c5.txt" and a decomposed "A\u030a.txt" are two legal files on Linux; `documents`, KWIC lines,
    `remove`, `verify` and `index` had each listed them as one name twice. The decomposed one's "A\u030a" is spelled as
    its code points where both are listed; a name no other reads like stays as it is."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "\u00c5.txt").write_text("The bank raised its rates.\n")
    (corpus / "A\u030a.txt").write_text("We sat on the river bank.\n")
    (corpus / "\u00e9.txt").write_text("A plain bank.\n")
    composed, decomposed, alone = (str(corpus / name) for name in ("\u00c5.txt", "A\\u030a.txt", "\u00e9.txt"))
    index = tmp_path / "idx"
    made = runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test", "-q"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["documents", "--index", str(index)], terminal_width=200).stdout.splitlines()
    assert sorted(line.split()[0] for line in listed[1:]) == [decomposed, composed, alone], listed
    usages = runner.invoke(app, ["usages", "bank", "--index", str(index)]).stdout.splitlines()
    assert sorted(line.split()[-1] for line in usages[1:]) == ["A\\u030a.txt", "\u00c5.txt", "\u00e9.txt"], usages
    removed = runner.invoke(app, ["remove", str(corpus), "--index", str(index), "--dry-run"]).stdout.splitlines()
    assert sorted(removed[2:5]) == [f"    {decomposed}", f"    {composed}", f"    {alone}"], removed
    for name in ("\u00c5.txt", "A\u030a.txt"):
        (corpus / name).unlink()
    again = runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test"])
    assert f"these paths ('{decomposed}', '{composed}')" in " ".join(again.stderr.split()), again.stderr
    with SenseIndex.open(index) as opened:
        docs = [doc for doc in opened.store.all_documents() if "\u00e9" not in doc.label]
        with opened.store.begin() as conn:
            conn.execute(occurrences.delete().where(occurrences.c.id.in_([d.first_occurrence for d in docs])))
    checked = runner.invoke(app, ["verify", "--index", str(index), "--no-model"]).stdout.splitlines()
    assert sorted(line.split(" should hold")[0] for line in checked if line.startswith("  - document: ")) == [
        f"  - document: '{decomposed}'", f"  - document: '{composed}'"], checked
    assert sorted(line.split("its file ")[1].split(" no longer")[0] for line in checked
                  if line.startswith("  - content: ")) == [f"'{decomposed}'", f"'{composed}'"], checked


def test_only_names_that_read_alike_are_spelled_and_only_where_a_reader_cannot_see_them() -> None:
    """A zero-width space or a no-break space reads as nothing or as a space, a composed "\u00c5" as a decomposed one:
    such names are spelled apart, each cluster a reader does not see as written as its code points; in a quoted list,
    repr spells hidden characters itself but leaves a decomposed "A\u030a" as it is."""
    from sensesearch.visible import quoted, spelled_apart

    assert spelled_apart(["a\u200bb.txt", "ab.txt", "x\u00a0y", "x y", "\u212b", "A\u030a", "e\u0301"]) == {
        "a\u200bb.txt": "a\\u200bb.txt", "ab.txt": "ab.txt", "x\u00a0y": "x\\u00a0y", "x y": "x y",
        "\u212b": "\\u212b", "A\u030a": "A\\u030a", "e\u0301": "e\u0301"}
    assert quoted(["\u00c5.txt", "A\u030a.txt", "a, b", "c\u200b"]) == (
        "'\u00c5.txt', 'A\\u030a.txt', 'a, b', 'c\\u200b'")
