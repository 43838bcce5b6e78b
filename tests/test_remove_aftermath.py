"""What `remove` leaves and says: documents listed once, sense examples taken from removed usages named, `info` on an
emptied index, a rerun after a removal stopped mid-way; and `compare` refusing a line that marks another word
(fake encoder, CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.vectors import VectorStore

runner = CliRunner()


def _index(corpus: Path, index: Path) -> None:
    result = runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test", "-q"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("We sat on the bank of the river.\nThe bank raised its rates.\n")
    (corpus / "b.txt").write_text("Herons stood on the far bank of the stream.\nShe asked the bank for a loan.\n")
    _index(corpus, tmp_path / "idx")
    return corpus, tmp_path / "idx"


def test_a_document_two_names_reach_is_listed_once(two_files: tuple[Path, Path]) -> None:
    """A file given with its folder (or twice, in two spellings) was listed under each name: 2 documents, 3 lines."""
    corpus, index = two_files
    for dry in (["--dry-run"], []):
        result = runner.invoke(app, ["remove", str(corpus / "a.txt"), str(corpus), f"{corpus}/./a.txt",
                                     "--index", str(index), *dry])
        assert result.exit_code == 0, result.output
        listed = [ln.strip() for ln in result.stdout.splitlines() if ln.startswith("    ")]
        assert sorted(listed) == [str(corpus / "a.txt"), str(corpus / "b.txt")], result.stdout
        assert f"{corpus} names 2 documents, 1 listed above:" in result.stdout


def test_sense_examples_from_removed_usages_are_named(two_files: tuple[Path, Path]) -> None:
    """Cluster examples whose documents were removed stayed in their senses with no word said, by `remove` or by
    `sense list`: their occurrence_id just became null, like that of an example typed in."""
    corpus, index = two_files
    added = runner.invoke(app, ["sense", "add", "bank", "all", "--from-cluster", "1", "-k", "1", "--index", str(index)])
    assert added.exit_code == 0, added.output
    typed = runner.invoke(app, ["sense", "add", "bank", "typed", "The [[bank]] lent money.", "--index", str(index)])
    assert typed.exit_code == 0, typed.output
    dry = runner.invoke(app, ["remove", str(corpus / "a.txt"), "--index", str(index), "--dry-run", "--json"])
    assert json.loads(dry.stdout)["unlinked_sense_examples"] == {"bank": 2}
    gone = runner.invoke(app, ["remove", str(corpus / "a.txt"), "--index", str(index)])
    assert gone.exit_code == 0, gone.output
    assert "Kept 2 sense examples taken from usages of the removed documents (bank: 2)" in gone.stderr
    listed = runner.invoke(app, ["sense", "list", "bank", "--examples", "--index", str(index)])
    assert listed.exit_code == 0, listed.output
    unlinked = [ln for ln in listed.stdout.splitlines() if "no longer indexed" in ln]
    assert len(unlinked) == 2 and all("(cluster; its usage is no longer indexed)" in ln for ln in unlinked)
    assert "(text)" in listed.stdout  # an example typed in never named a usage: nothing to say of it
    again = runner.invoke(app, ["remove", str(corpus / "b.txt"), "--index", str(index), "--json"])
    assert json.loads(again.stdout) == {"removed": [str(corpus / "b.txt")], "unlinked_sense_examples": {"bank": 2},
                                        "documents": [{"label": str(corpus / "b.txt"), "path": str(corpus / "b.txt")}]}


def test_records_of_one_id_in_two_files_are_listed_apart(tmp_path: Path) -> None:
    """Removing a folder that holds the records r1 of a/x.jsonl and of b/x.jsonl listed two lines "r1", and --json two
    labels "r1" with nothing to tell them by: the listing names them as KWIC lines do, --json gives each one's path."""
    corpus = tmp_path / "corpus"
    for folder in ("a", "b"):
        (corpus / folder).mkdir(parents=True)
        (corpus / folder / "x.jsonl").write_text(json.dumps({"id": "r1", "text": "The bank lent money."}) + "\n")
    _index(corpus, tmp_path / "idx")
    for dry, verb in ((["--dry-run", "--json"], "would_remove"), (["--dry-run"], ""), ([], "")):
        result = runner.invoke(app, ["remove", str(corpus), "--index", str(tmp_path / "idx"), *dry])
        assert result.exit_code == 0, result.output
        if verb:
            answer = json.loads(result.stdout)
            assert answer[verb] == ["r1", "r1"]
            assert sorted((d["label"], d["path"]) for d in answer["documents"]) == [
                ("r1", str(corpus / "a" / "x.jsonl")), ("r1", str(corpus / "b" / "x.jsonl"))]
            continue
        listed = [ln.strip() for ln in result.stdout.splitlines() if ln.startswith("    ")]
        assert sorted(listed) == ["a/x.jsonl#r1", "b/x.jsonl#r1"], result.stdout


def test_info_on_an_emptied_index_gives_no_size_per_occurrence(two_files: tuple[Path, Path]) -> None:
    """With every document removed, the files' fixed overhead was divided by 1: "339 vectors + 114688 metadata"."""
    corpus, index = two_files
    assert runner.invoke(app, ["remove", str(corpus), "--index", str(index)]).exit_code == 0
    result = runner.invoke(app, ["info", "--index", str(index)])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.stdout.splitlines() if "bytes/occurrence" in ln)
    assert "- (no occurrences)" in line and "vectors" not in line


def test_rerunning_a_removal_stopped_after_its_commit_says_what_happened(
        two_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A removal killed between committing its rows and saving its vectors: the rerun's open dropped the vectors,
    finishing it, and then said "no indexed document matches ...; nothing was removed"."""
    corpus, index = two_files

    def killed(self: VectorStore, ranges: list[tuple[int, int]]) -> int:
        raise KeyboardInterrupt  # as a kill: the rows are committed, the vectors file is not rewritten

    with monkeypatch.context() as patch:
        patch.setattr(VectorStore, "remove_ranges", killed)
        with SenseIndex.open(index) as target, pytest.raises(KeyboardInterrupt):
            target.remove([str(corpus / "a.txt")])
    result = runner.invoke(app, ["remove", str(corpus / "a.txt"), "--index", str(index)])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert "nothing was removed" not in message
    assert "dropped 13 vectors whose rows an interrupted run had already removed" in message, message
    verified = runner.invoke(app, ["verify", "--index", str(index), "--no-model"])
    assert verified.exit_code == 0, verified.output
    later = runner.invoke(app, ["remove", str(corpus / "a.txt"), "--index", str(index)])
    assert "; nothing was removed" in later.output  # nothing dropped this time: the plain message is true again


@pytest.mark.parametrize("text, message", [
    ("The [[bank]] raised its rates.\nWe sat on the [[river]] bank.\n", "line 2: the marked word 'river' is not 'bank'"),
    ("\n[[Herons]] stood on the bank.\n", "line 2: the marked word 'Herons' is not 'bank'"),
    ("The [[river bank]] was wet.\n", "line 1: the marked word 'river bank' is not 'bank'"),
])
def test_compare_refuses_a_line_that_marks_another_word(tmp_path: Path, text: str, message: str) -> None:
    """A marker on another word compared that word's usage under WORD's name, silently."""
    lines = tmp_path / "lines.txt"
    lines.write_text(text)
    result = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test"])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "loading the model" not in result.output  # refused before any model loads


@pytest.mark.parametrize("word, text", [
    ("bank", "The [[Banks]] raised their rates.\nThe bank by the [[bank]].\nA bank.\n"),
    ("run", "We [[run]] home.\nThey [[ran]] home.\nShe [[runs]] home.\n"),  # a form by its lemma
])
def test_compare_takes_a_marked_form_of_the_word(tmp_path: Path, word: str, text: str) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text(text)
    result = runner.invoke(app, ["compare", word, str(lines), "--model", "fake:test", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["similarity"]) == 3
