"""`sense` sub-commands and --sense on usages/query through typer's CliRunner (fake encoder)."""

from __future__ import annotations

import csv
import io

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app

from .test_sense_inventory import examples, expected_sense, two_word_corpus  # noqa: F401  (fixture)

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, two_word_corpus: Path) -> Path:  # noqa: F811
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(two_word_corpus), "--index", str(index), "--model", "fake:test", "-q"])
    assert result.exit_code == 0, result.output
    for word, senses in (("bank", ("finance", "river")), ("cell", ("biology", "prison"))):
        for name in senses:
            added = runner.invoke(app, ["sense", "add", word, name, *examples(word, name), "--index", str(index)])
            assert added.exit_code == 0, added.output
    return index


def test_usages_and_query_by_sense(built: Path) -> None:
    result = runner.invoke(app, ["usages", "bank", "--sense", "river", "--index", str(built), "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and {expected_sense(h["sentence"]) for h in hits} == {"river"}
    assert all(h["score"] > 0 for h in hits)
    for sense in ("prison", "cell:prison"):
        result = runner.invoke(app, ["query", "The guard locked the [[cell]] door.", "--sense", sense,
                                     "--index", str(built), "--json", "-k", "5"])
        assert result.exit_code == 0, result.output
        assert [expected_sense(h["sentence"]) for h in json.loads(result.stdout)] == ["prison", "prison"]


def test_list_documents_config_and_remove(built: Path) -> None:
    listed = runner.invoke(app, ["sense", "list", "--index", str(built), "--json"])
    assert listed.exit_code == 0, listed.output
    data = {w["word"]: w for w in json.loads(listed.stdout)}
    assert data["bank"]["usages"] == {"finance": 3, "river": 3, "unassigned": 0}
    assert data["cell"]["usages"] == {"biology": 3, "prison": 2, "unassigned": 0}
    assert [s["name"] for s in data["cell"]["senses"]] == ["biology", "prison"]
    docs = runner.invoke(app, ["sense", "documents", "cell:biology", "--index", str(built), "--json"])
    assert docs.exit_code == 0, docs.output
    assert [(Path(d["document"]).name, d["count"], d["usages"]) for d in json.loads(docs.stdout)] == [
        ("a.txt", 2, 2), ("b.txt", 1, 3)]
    docs = runner.invoke(app, ["sense", "documents", "cell:biology", "--min", "2", "--index", str(built), "--json"])
    assert [Path(d["document"]).name for d in json.loads(docs.stdout)] == ["a.txt"]
    listed = runner.invoke(app, ["documents", "--sense", "cell:biology", "--min", "2", "--index", str(built), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(Path(d["document"]).name, d["count"]) for d in json.loads(listed.stdout)] == [("a.txt", 2)]
    none = runner.invoke(app, ["sense", "documents", "cell:biology", "--min", "100", "--index", str(built)])
    assert none.exit_code == 0 and none.stdout == "", none.output  # a bare header had been the whole answer
    assert "no document holds 100 usages of 'cell' tagged 'biology'" in none.stderr
    text = runner.invoke(app, ["sense", "list", "bank", "--examples", "--index", str(built)])
    assert text.exit_code == 0 and "finance" in text.stdout and "[[bank]]" in text.stdout
    strict = runner.invoke(app, ["sense", "config", "bank", "--threshold", "2", "--index", str(built), "--json"])
    assert strict.exit_code == 0, strict.output
    assert json.loads(strict.stdout)["usages"]["unassigned"] == 6
    removed = runner.invoke(app, ["sense", "remove", "bank", "river", "--index", str(built)])
    assert removed.exit_code == 0 and "river" in removed.output
    gone = runner.invoke(app, ["usages", "bank", "--sense", "river", "--index", str(built)])
    assert gone.exit_code == 1 and "no sense 'river'" in gone.output


def test_add_from_file_and_cluster(built: Path, tmp_path: Path) -> None:
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("water\t" + examples("bank", "river")[1] + "\n")
    added = runner.invoke(app, ["sense", "add", "bank", "--from-file", str(tsv), "--index", str(built), "--json"])
    assert added.exit_code == 0, added.output
    assert [s["name"] for s in json.loads(added.stdout)["senses"]] == ["finance", "river", "water"]
    cluster = runner.invoke(app, ["sense", "add", "cell", "group1", "--from-cluster", "1", "-k", "2", "--take", "2",
                                  "--index", str(built), "--json"])
    assert cluster.exit_code == 0, cluster.output
    assert {s["name"]: s["n_examples"] for s in json.loads(cluster.stdout)["senses"]}["group1"] == 2


def test_adding_examples_a_sense_already_has_adds_and_reports_none(built: Path, tmp_path: Path) -> None:
    """The line says what was added, not what was given: an example the sense already has is not added again."""
    again = runner.invoke(app, ["sense", "add", "bank", "river", *examples("bank", "river"), "--index", str(built)])
    assert again.exit_code == 0 and "'river' (+0)" in again.output, again.output
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("river\t" + examples("bank", "river")[0] + "\nfinance\tThe [[bank]] paid out.\n")
    added = runner.invoke(app, ["sense", "add", "bank", "--from-file", str(tsv), "--index", str(built)])
    assert added.exit_code == 0 and "'finance' (+1), 'river' (+0)" in added.output, added.output
    # A name stored trimmed and in NFC is reported as stored: " finance" had printed "Added to bank: " and no name.
    spaced = runner.invoke(app, ["sense", "add", "bank", " finance ", "The [[bank]] lent money.", "--index", str(built)])
    assert spaced.exit_code == 0 and "Added to bank: 'finance' (+1)" in spaced.output, spaced.output
    new = runner.invoke(app, ["sense", "add", "bank", "e\u0301cole", "The [[bank]] school.", "--index", str(built)])
    assert new.exit_code == 0 and "Added to bank: '\u00e9cole' (+1)" in new.output, new.output


@pytest.mark.parametrize("args, message, code", [
    (["sense", "add", "bank", "finance"], "exactly one of them", 2),
    (["sense", "add", "bank", "finance", "no marker"], "mark the word", 1),
    (["sense", "add", "bank", "finance", "a [[bank]]", "--from-cluster", "1"], "exactly one of them", 2),
    (["sense", "documents", "bank", "--index", "IDX"], "WORD:SENSE", 2),
    (["sense", "config", "bank", "--method", "svm", "--index", "IDX"], "'svm' is not one of centroid, knn", 2),
    # 4 examples: k=9 (or the default 5) let all of them vote on every usage, so every margin was 0.
    (["sense", "config", "bank", "--method", "knn", "-k", "9", "--index", "IDX"], "give k below 4", 2),
    (["sense", "config", "bank", "--method", "knn", "--index", "IDX"], "knn with k=5 lets all 4 examples", 2),
    (["usages", "bank", "--sense", "nope", "--index", "IDX"], "no sense 'nope'", 1),
    (["usages", "zebra", "--sense", "nope", "--index", "IDX"], "no sense inventory", 1),
    # An empty --sense (an unset shell variable) had listed every usage, as though all were in the sense.
    (["usages", "bank", "--sense", "", "--index", "IDX"], "name a sense", 2),
    (["query", "the [[bank]] rose", "--sense", " ", "--index", "IDX"], "name a sense", 2),
    # Options that cannot go together are a usage error, as every other such pair is (it had exited 1).
    (["query", "the [[bank]] rose", "--sense", "river", "--any-word", "--index", "IDX"], "without any-word", 2),
    # Options that only steer another were taken and ignored when it was not given.
    (["sense", "add", "bank", "finance", "a [[bank]] loan", "--take", "3"], "give --from-cluster N with them", 2),
    (["sense", "add", "bank", "finance", "a [[bank]] loan", "--seed", "1"], "give --from-cluster N with them", 2),
    (["sense", "config", "bank", "--method", "centroid", "-k", "3", "--index", "IDX"], "give method knn with it", 2),
    (["senses", "bank", "--chart", "bars", "--index", "IDX"], "give --by and --plot too", 2),
    (["senses", "bank", "--chart", "area", "--by", "year", "--index", "IDX"], "give --by and --plot too", 2),
])
def test_errors_are_one_line(built: Path, args: list[str], message: str, code: int) -> None:
    """Values the user gave that cannot be used as given are usage errors (exit 2), others exit 1."""
    args = [str(built) if a == "IDX" else a for a in args]
    if "--index" not in args:
        args += ["--index", str(built)]
    result = runner.invoke(app, args)
    assert result.exit_code == code and message in " ".join(result.output.split()), result.output
    assert isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize("k", ["1", "5"])
def test_knn_over_one_example_asks_for_examples_not_for_k(tmp_path: Path, two_word_corpus: Path,  # noqa: F811
                                                          k: str) -> None:
    """With one example no k is below the count: the line had said "give k below 1", which -k refuses."""
    index = str(tmp_path / "idx")
    made = runner.invoke(app, ["index", str(two_word_corpus), "--index", index, "--model", "fake:test", "-q"])
    added = runner.invoke(app, ["sense", "add", "bank", "finance", examples("bank", "finance")[0], "--index", index])
    assert made.exit_code == 0 and added.exit_code == 0, made.output + added.output
    result = runner.invoke(app, ["sense", "config", "bank", "--method", "knn", "-k", k, "--index", index])
    assert result.exit_code == 2, result.output
    assert (f"knn with k={k} lets its only example of 'bank' vote on every usage, so every usage gets the same "
            "vote: add examples (knn needs at least 2)") in " ".join(result.output.split())


def test_names_with_brackets_print_as_written(built: Path) -> None:
    added = runner.invoke(app, ["sense", "add", "bank", "[bold]loans", examples("bank", "finance")[0],
                                "--index", str(built)])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["sense", "list", "bank", "--index", str(built)])
    assert listed.exit_code == 0 and "[bold]loans" in listed.stdout
    docs = runner.invoke(app, ["sense", "documents", "bank:[bold]loans", "--index", str(built)])
    assert docs.exit_code == 0 and "[bold]loans" in docs.stdout


def test_tags_export(built: Path) -> None:
    result = runner.invoke(app, ["sense", "tags", "cell", "--index", str(built), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and all(r["sense"] == expected_sense(r["sentence"]) and r["margin"] > 0 for r in rows)
    as_csv = runner.invoke(app, ["sense", "tags", "cell", "--limit", "2", "--index", str(built), "--csv"])
    rows_read = list(csv.reader(io.StringIO(as_csv.stdout)))
    # The columns of `usages --csv`, a margin for the score (the score column was always empty).
    assert as_csv.exit_code == 0 and rows_read[0] == ["sense", "margin", "document", "left", "word", "right",
                                                      "sentence", "start", "end", "occurrence_id", "path"]
    assert "score" not in rows[0]
    assert len(rows_read) == 3
    table = runner.invoke(app, ["sense", "tags", "cell", "--index", str(built)])
    assert table.exit_code == 0 and "prison" in table.stdout and "biology" in table.stdout


def test_sense_searches_keep_to_the_where_conditions(built: Path) -> None:
    """`--sense` with `--where` (CLI, and the same functions behind the HTTP API) ignored the conditions."""
    listed = runner.invoke(app, ["usages", "bank", "--sense", "river", "--where", "path=*b.txt", "--index", str(built),
                                 "--json"])
    assert listed.exit_code == 0, listed.output
    hits = json.loads(listed.stdout)
    assert len(hits) == 2 and {Path(h["document"]).name for h in hits} == {"b.txt"}
    found = runner.invoke(app, ["query", "The guard locked the [[cell]] door.", "--sense", "biology", "--where",
                                "path=*b.txt", "-k", "5", "--index", str(built), "--json"])
    assert found.exit_code == 0, found.output
    assert [(Path(h["document"]).name, expected_sense(h["sentence"])) for h in json.loads(found.stdout)] == [
        ("b.txt", "biology")]
    refused = runner.invoke(app, ["usages", "bank", "--sense", "river", "--where", "year>>5", "--index", str(built)])
    assert refused.exit_code == 2, refused.output
    # Conditions that leave none of the sense's usages say so, as without --sense (both printed nothing, exit 0).
    for args in (["usages", "bank"], ["query", "The [[bank]] rose.", "-k", "3"]):
        empty = runner.invoke(app, [*args, "--sense", "river", "--where", "nosuch=1", "--index", str(built)])
        assert empty.exit_code == 1, empty.output
        assert "'bank' has no usage in the sense 'river' where nosuch=1 (no indexed document has the field 'nosuch'; " \
               "no document has metadata fields: JSONL fields and metadata.csv sidecars give them), though it has 3" \
               in " ".join(empty.output.split()), empty.output


def test_a_form_the_inventory_tags_finds_its_senses(built: Path) -> None:
    """`query "the [[banks]] rose" --sense finance` said "'banks' has no sense inventory" though bank's lists banks."""
    added = runner.invoke(app, ["sense", "add", "bank", "river", examples("banks", "river")[0], "--index", str(built)])
    assert added.exit_code == 0, added.output
    for args in (["usages", "banks", "--sense", "river"], ["sense", "list", "banks"],
                 ["query", examples("banks", "river")[1], "--sense", "river"]):
        result = runner.invoke(app, [*args, "--index", str(built), "--json"])
        assert result.exit_code == 0, (args, result.output)
    for sense in ("river", "finance"):
        by_form, by_word = (json.loads(runner.invoke(app, ["usages", word, "--sense", sense, "--index", str(built),
                                                           "--json"]).stdout) for word in ("banks", "bank"))
        assert by_form == by_word
    assert by_form and all(h["word"] == "bank" for h in by_form)


def test_a_sense_name_in_another_unicode_form_is_the_same_sense(built: Path) -> None:
    """"café" typed decomposed (e + U+0301) made a second sense printed exactly like the first, and --sense found
    only the one typed the same way."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    for name in (composed, decomposed):
        added = runner.invoke(app, ["sense", "add", "bank", name, examples("bank", "finance")[0], "--index", str(built)])
        assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["sense", "list", "bank", "--index", str(built), "--json"])
    assert [s["name"] for s in json.loads(listed.stdout)[0]["senses"]].count(composed) == 1
    for name in (composed, decomposed, f" {decomposed} "):
        found = runner.invoke(app, ["usages", "bank", "--sense", name, "--index", str(built), "--json"])
        assert found.exit_code == 0, found.output
    removed = runner.invoke(app, ["sense", "remove", "bank", decomposed, "--index", str(built)])
    assert removed.exit_code == 0, removed.output


@pytest.mark.parametrize("args", [["usages", "bank", "--sense", "river"], ["usages", "bank", "--sense", "river", "--json"],
                                  ["query", "We sat by the [[bank]].", "--sense", "bank:river"]])
def test_a_sense_that_tags_no_usage_says_so(built: Path, args: list[str]) -> None:
    """With every usage below the margin threshold a search by sense printed nothing at all (or []), exit 0, which
    reads as a failed search; it now says on stderr why it is empty."""
    assert runner.invoke(app, ["sense", "config", "bank", "--threshold", "0.99", "--index", str(built)]).exit_code == 0
    result = runner.invoke(app, [*args, "--index", str(built)])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert result.stdout.strip() in ("", "[]"), result.stdout
    assert result.stderr.startswith("no usage of 'bank' is tagged 'river' now: `sensesearch sense list bank` counts"), \
        result.stderr
    assert runner.invoke(app, ["sense", "config", "bank", "--threshold", "0", "--index", str(built)]).exit_code == 0
    listed = runner.invoke(app, [*args, "--index", str(built)])
    assert listed.exit_code == 0 and listed.stdout.strip() not in ("", "[]") and "is tagged" not in listed.stderr


def test_tags_table_tells_documents_apart_as_kwic_lines_do(tmp_path: Path, two_word_corpus: Path) -> None:  # noqa: F811
    """The table named a document by its file name cut to 16 columns: x/same.txt and y/same.txt were both
    "same.txt", and two names alike in their first 16 columns one name."""
    corpus = tmp_path / "named"
    for folder, source in (("x", "a.txt"), ("y", "b.txt")):
        (corpus / folder).mkdir(parents=True)
        (corpus / folder / "same.txt").write_text((two_word_corpus / source).read_text())
    (corpus / "y" / "annual_report_1901_of_the_board.txt").write_text("The prison cell door was locked.\n")
    (corpus / "y" / "annual_report_1950_of_the_board.txt").write_text("The guard searched the prison cell.\n")
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(corpus), "--index", str(index), "--model", "fake:test", "-q"]).exit_code == 0
    for name in ("biology", "prison"):
        assert runner.invoke(app, ["sense", "add", "cell", name, *examples("cell", name), "--index",
                                   str(index)]).exit_code == 0
    table = runner.invoke(app, ["sense", "tags", "cell", "--index", str(index)], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    shown = {line.split()[-1] for line in table.stdout.splitlines()[1:] if line.strip()}
    assert {"x/same.txt", "y/same.txt"} <= shown, table.stdout
    assert any("1901" in name for name in shown) and any("1950" in name for name in shown), table.stdout


def test_sense_documents_tells_apart_records_of_one_id_in_two_files(tmp_path: Path) -> None:
    """Record "r1" of a/x.jsonl and of b/x.jsonl were two rows "r1"; --json had no path to tell them by."""
    for folder, sense in (("a", "biology"), ("b", "prison")):
        (tmp_path / "c" / folder).mkdir(parents=True)
        text = " ".join(examples("cell", sense)).replace("[[", "").replace("]]", "")
        (tmp_path / "c" / folder / "x.jsonl").write_text(json.dumps({"id": "r1", "text": text}) + "\n")
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(tmp_path / "c"), "--index", str(index), "--model", "fake:test",
                               "-q"]).exit_code == 0
    assert runner.invoke(app, ["sense", "add", "cell", "biology", *examples("cell", "biology"), "--index",
                               str(index)]).exit_code == 0
    table = runner.invoke(app, ["sense", "documents", "cell:biology", "--index", str(index)])
    assert table.exit_code == 0, table.output
    assert sorted(line.split()[0] for line in table.stdout.splitlines()[1:]) == ["a/x.jsonl#r1", "b/x.jsonl#r1"]
    found = json.loads(runner.invoke(app, ["sense", "documents", "cell:biology", "--index", str(index),
                                           "--json"]).stdout)
    assert sorted((d["document"], Path(d["path"]).parent.name) for d in found) == [("r1", "a"), ("r1", "b")]


def test_sense_documents_draws_a_line_break_in_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files "a\nb.txt" and "a b.txt" were two rows "c/a b.txt": the table's cells flatten white space, so the line
    break is drawn (␊) before."""
    (tmp_path / "c").mkdir()
    text = " ".join(examples("cell", "biology")).replace("[[", "").replace("]]", "") + "\n"
    for name in ("a\nb.txt", "a b.txt"):
        (tmp_path / "c" / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["index", "c", "--index", "idx", "--model", "fake:test", "-q"]).exit_code == 0
    assert runner.invoke(app, ["sense", "add", "cell", "biology", *examples("cell", "biology"), "--index",
                               "idx"]).exit_code == 0
    table = runner.invoke(app, ["sense", "documents", "cell:biology", "--index", "idx"])
    assert table.exit_code == 0, table.output
    assert sorted(line.split("  ")[0].strip() for line in table.stdout.splitlines()[1:]) == ["c/a b.txt",
                                                                                             "c/a\u240ab.txt"]
