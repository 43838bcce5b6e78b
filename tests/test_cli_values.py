"""Issue 15, items 2 and 3: every value checked before anything slow; a failed command leaves nothing behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sensesearch import EncoderSettings, SenseIndex, SetupError, StorageError, UsageError
from sensesearch import encoder as encoder_module
from sensesearch.cli import app
from sensesearch.cli_serve import bind

from . import readonly_media
from .fake_encoder import FakeEncoder
from .robust_util import run_cli

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, bank_corpus: Path) -> Path:
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(index), "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model load fails the test: the command had to stop before it."""
    def refuse(settings: EncoderSettings, device: str | None) -> FakeEncoder:
        raise AssertionError("the model was loaded before the bad value was noticed")
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", refuse)


def _usage_error(args: list[str], message: str) -> Result:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Error" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


@pytest.mark.parametrize("args, message", [
    (["usages", "bank", "--sort", "bogus"], "'bogus' is not one of"),
    (["usages", "bank", "--sort", "score"], "'score' is not one of"),
    (["query", "the [[bank]]", "--sort", "Left"], "'Left' is not one of"),
    (["query", "the [[bank]]", "--any-word", "--nprobe", "0"], "--nprobe"),
    (["query", "the [[bank]]", "--any-word", "--nprobe", "-3"], "--nprobe"),
    (["query", "the [[bank]]", "--nprobe", "4"], "--nprobe applies only with --any-word"),
    (["query", "the [[bank]]", "--device", "bogus"], "not a torch device"),
    (["query", "the [[bank]]", "--device", "cpu:3"], "no device"),
    (["senses", "bank", "--plot", "{tmp}/no/such/folder/bank.png"], "does not exist"),
    (["senses", "bank", "--plot", "{tmp}/bank.txt"], "name the file .png"),
    (["index", "{corpus}", "--compression", "zip"], "'zip' is not one of"),
    (["index", "{corpus}", "--layers", "x:y"], "cannot read layers"),
    (["index", "{corpus}", "--model", "{tmp}/no-such-model"], "no such model folder"),
    (["compare", "bank", "{corpus}/bank.txt", "--model", "./missing-model"], "no such model folder"),
    (["index", "{corpus}", "--model", "tfhub:{tmp}/no-such-savedmodel"], "no folder"),
    (["compare", "bank", "{corpus}/bank.txt", "--model", "tfhub:{tmp}"], "holds no saved_model.pb"),
    (["compare", "bank", "{corpus}/bank.txt", "--model", "tfhub:https://tfhub.dev/x/1"], "never downloads"),
    (["senses", "bank", "--by", "year", "--bin-width", "0"], "above 0"),
    (["senses", "bank", "--by", ""], "name a field"),
    (["senses", "bank", "--bin-width", "0.1"], "give --by too"),
    (["usages", ""], "the word is empty"),
    (["senses", " "], "the word is empty"),
    (["compare", "", "{corpus}/bank.txt"], "the word is empty"),
    (["sense", "list", ""], "the word is empty"),
    (["senses", "bank", "--by", " "], "name a field"),
    (["senses", "bank", "--by", "year", "--bin-width", "inf"], "above 0"),
    (["senses", "bank", "--by", "year", "--bin-width", "nan"], "finite number above 0, not nan"),
    (["senses", "bank", "--seed", "-5"], "--seed"),
    (["remove", "x", "--wait", "-5"], "--wait"),
    (["remove", "x", "--wait", "nan"], "'--wait': the wait must be a finite number of at least 0, not nan"),
    (["index", "{corpus}", "--wait", "inf"], "'--wait': the wait must be a finite number of at least 0, not inf"),
    (["sense", "config", "bank", "--threshold", "nan"], "the margin threshold must be a number in 0..2, not nan"),
    (["sense", "config", "bank", "--method", "bogus"], "'bogus' is not one of"),
    (["sense", "config", "bank", "--threshold", "-5"], "--threshold"),
    (["usages", "bank", "-d", ""], "empty document name"),
    (["query", "the [[bank]]", "-d", " "], "empty document name"),
    (["usages", "bank", "--where", "year>>5"], "one operator"),
    (["usages", "bank", "--where", "year=>5"], "one operator"),
    (["usages", "bank", "--where", "year>>"], "one operator"),
    (["usages", "bank", "--where", "year>=<"], "one operator"),
    (["documents", "--sense", "bank"], "WORD:SENSE"),
    (["index", "{corpus}", "--layers", "5:2"], "select no layer"),
    (["index", "{corpus}", "--layers", "1,1"], "name a layer twice"),
    (["index", "{corpus}", "--lemma-language", "xx"], "no lemmatiser for language xx"),
    (["index", "{corpus}", "--db", "notaurl"], "cannot read the database URL"),
    (["compare", "bank", "{corpus}/bank.txt", "--layers", "99"], "layer 99 does not exist"),
    (["compare", "bank", "{corpus}/bank.txt", "--layers", "1:99"], "layer 7 does not exist"),
    (["index", "{corpus}", "--db", "mysql://x/y"], "mysql databases are not supported"),
    (["index", "{corpus}", "--db", "sqlite:///{tmp}/m.sqlite?schema=team"], "takes no schema= parameter"),
    (["index", "{corpus}", "--db", "postgresql://nobody@127.0.0.1:1/none?schema=Bad-Name"], "lower-case identifier"),
    (["sense", "add", "bank", "finance"], "exactly one of them"),
    (["sense", "add", "bank", "finance", "the [[bank]] x", "--from-cluster", "1"], "exactly one of them"),
    (["sense", "add", "bank", "a:b", "the [[bank]] x"], "a sense name must be"),
])
def test_bad_values_fail_before_the_model_loads(built: Path, bank_corpus: Path, tmp_path: Path, no_model_load: None,
                                                args: list[str], message: str) -> None:
    filled = [a.format(tmp=tmp_path, corpus=bank_corpus) for a in args] + ["--index", str(built)] * (
        args[0] != "compare")
    _usage_error(filled, message)


@pytest.mark.parametrize("args, what", [
    (["query", "--file", "", "--index", "{index}"], "'--file' / '-f': an empty query file name ('')"),
    (["sense", "add", "bank", "--from-file", " ", "--index", "{index}"], "'--from-file': an empty examples file name"),
    (["compare", "bank", ""], "'file': an empty file name ('')"),
    (["senses", "bank", "--plot", "", "--index", "{index}"], "'--plot': an empty picture file name ('')"),
    (["eval", "wic", "", "{corpus}"], "'tune': an empty tuning file or folder name ('')"),
    (["eval", "wic", "{corpus}", " "], "'test': an empty test file or folder name (' ')"),
    (["eval", "coarsewsd", "", "{corpus}"], "'train_dir': an empty training folder name ('')"),
    (["eval", "coarsewsd", "{corpus}", ""], "'test_dir': an empty test folder name ('')"),
])
def test_an_empty_file_name_is_a_usage_error_not_the_current_folder(built: Path, bank_corpus: Path,
                                                                   no_model_load: None, args: list[str],
                                                                   what: str) -> None:
    """As for `index`, `remove`, -d and --index: read as a path, "" had been ".", and each command went on with the
    current folder ("cannot read .: Is a directory", eval searching it for data, --plot calling it a folder)."""
    result = _usage_error([a.format(index=built, corpus=bank_corpus) for a in args], what)
    assert "names nothing (is a shell variable unset?)" in result.output


def test_eval_refuses_an_empty_word_list_and_a_word_folder_for_the_word_folders(tmp_path: Path,
                                                                               no_model_load: None) -> None:
    word = tmp_path / "bank"
    word.mkdir()
    (word / "train.data.txt").write_text("1\tThe bank rose.\n")
    _usage_error(["eval", "coarsewsd", str(tmp_path), str(tmp_path), "--words", ""], "--words names no word")
    result = runner.invoke(app, ["eval", "coarsewsd", str(word), str(word)])
    assert result.exit_code == 1 and "holds no word folders" in result.output and "one word's folder" in result.output



def test_eval_wic_refuses_a_layer_the_model_lacks_before_saying_it_loads_it(tmp_path: Path,
                                                                           no_model_load: None) -> None:
    """`eval wic --layers 9` printed "loading the model, then encoding ..." and only then the layer error."""
    data = tmp_path / "t.data.txt"
    data.write_text("bank\tN\t1-1\tThe bank rose .\tThe bank fell .\n")
    (tmp_path / "t.gold.txt").write_text("T\n")
    result = _usage_error(["eval", "wic", str(data), str(data), "--layers", "9"], "layer 9 does not exist")
    assert "loading the model" not in result.output


@pytest.mark.parametrize("args, message", [
    (["query", "the [[zebra]] grazed"], "'zebra' does not occur in the index"),
    (["query", "the [[bank]] rose", "--where", "year>1900"], "'bank' has no usage where year>1900"),
    (["query", "the [[bank]] rose", "--sense", "nope"], "no sense inventory"),
    (["query", "the [[bank]] rose", "--sense", "bank:nope"], "no sense inventory"),
    (["sense", "add", "bank", "river", "the [[river]] flows"], "not a form of 'bank'"),
])
def test_a_query_the_index_cannot_answer_fails_before_the_model_loads(built: Path, no_model_load: None,
                                                                      args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--index", str(built)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize("name, bad, least", [("SENSESEARCH_BATCH_TOKENS", "abc", 64),
                                              ("SENSESEARCH_CHECKPOINT_OCCURRENCES", "0", 1)])
def test_a_wrong_setting_in_the_environment_fails_before_the_model_loads(
        tmp_path: Path, bank_corpus: Path, no_model_load: None, monkeypatch: pytest.MonkeyPatch,
        name: str, bad: str, least: int) -> None:
    """Each had been read only where it was used: after the model had loaded and reading had begun (7 s with MiniLM),
    or, for the batch budget with a model that makes no padded batches, never."""
    monkeypatch.setenv(name, bad)
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test"])
    assert (result.exit_code, result.output) == (1, f"Error: {name} must be a whole number >= {least}, not {bad!r}\n")
    assert not (tmp_path / "i").exists()


def test_an_unknown_log_level_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SENSESEARCH_LOG=chatty had ended every command, --help too, with logging's ValueError traceback."""
    from sensesearch import cli

    monkeypatch.setenv("SENSESEARCH_LOG", "chatty")
    monkeypatch.setattr("sys.argv", ["sensesearch", "--help"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    assert capsys.readouterr().err == ("Error: SENSESEARCH_LOG must be a logging level (DEBUG, INFO, WARNING, ERROR or "
                                       "CRITICAL), not 'chatty'\n")


@pytest.mark.parametrize("args", [["index", "{corpus}", "--index", "{tmp}/i"], ["compare", "bank", "{corpus}/bank.txt"]])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_on_the_cpu_is_one_line_before_loading_the_model(tmp_path: Path, bank_corpus: Path,
                                                                       args: list[str], precision: str) -> None:
    """It had been refused after "loading the model" was printed (and torch imported: 2-4 s): two lines."""
    filled = [a.format(tmp=tmp_path, corpus=bank_corpus) for a in args]
    result = _usage_error([*filled, "--model", "fake:test", "--precision", precision, "--device", "cpu"],
                          f"precision {precision} needs a CUDA device, not cpu")
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1, result.output
    assert not (tmp_path / "i").exists()


def _recorded_precision(index: Path, precision: str) -> None:
    """Make `index` one built in `precision` (as on a GPU machine for bf16): its config.json says so."""
    from dataclasses import replace

    from sensesearch.config import CONFIG_FILE, IndexConfig

    config = IndexConfig.from_json((index / CONFIG_FILE).read_text())
    replace(config, encoder=replace(config.encoder, precision=precision)).save(index)


def test_an_index_in_half_precision_on_a_machine_without_cuda_says_so(built: Path) -> None:
    """`query` had been told to "use float32 (or int8 on CPU)": it has no --precision, nor has any command on an
    existing index."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _recorded_precision(built, "bf16")
    more = built.parent / "more.txt"
    more.write_text("The bank by the river flooded.\n")
    for args in (["query", "the [[bank]]"], ["index", str(more)], ["reindex"], ["shell"]):
        result = runner.invoke(app, [*args, "--index", str(built)], input="")
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert result.output == ("Error: the index computes its vectors in bf16, which runs on a CUDA device only, "
                                 "not cpu: use it on a machine with a CUDA GPU (vectors computed in another precision "
                                 "would not match those it holds)\n")
    _usage_error(["query", "the [[bank]]", "--index", str(built), "--device", "cpu"],
                 "the index computes its vectors in bf16, which runs on a CUDA device only, not cpu; give --device cuda")
    checked = runner.invoke(app, ["verify", "--index", str(built), "--json"])
    assert checked.exit_code == 0, checked.output
    assert "model not checked: the index computes its vectors in bf16" in checked.output


def test_an_index_in_int8_with_a_gpu_named_says_where_it_runs() -> None:
    # On a machine with CUDA (here the command line refuses --device cuda first, as this torch build lacks it).
    with pytest.raises(UsageError) as refused:
        encoder_module.load_encoder(EncoderSettings(model="fake:test", precision="int8"), "cuda", recorded=True)
    assert str(refused.value) == ("the index computes its vectors in int8, which runs on the CPU only, not cuda; "
                                  "give --device cpu, or no --device")


def test_cuda_on_a_cpu_build_of_torch(built: Path, no_model_load: None) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _usage_error(["query", "the [[bank]]", "--index", str(built), "--device", "cuda"], "CUDA")


def test_unknown_hub_model_fails_at_once_offline(tmp_path: Path, bank_corpus: Path) -> None:
    started = time.perf_counter()
    _usage_error(["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "no-such-org/no-such-model"],
                 "not in the local Hugging Face cache")
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "i").exists()


def test_any_word_on_an_index_without_vectors_is_one_line(tmp_path: Path) -> None:
    SenseIndex.create(tmp_path / "empty", settings=EncoderSettings(model="fake:test")).close()
    result = runner.invoke(app, ["query", "the [[bank]]", "--any-word", "--index", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\xff\xfe" * 20, None])
def test_all_inputs_skipped_creates_no_index(tmp_path: Path, content: bytes | None) -> None:
    source = tmp_path / "in"
    source.mkdir()
    if content is not None:
        (source / "only.txt").write_bytes(content)
    index = tmp_path / "made" / "idx"
    result = runner.invoke(app, ["index", str(source), "--index", str(index), "--model", "fake:test"])
    # Refused before the model loads: a folder of no text file, and one whose only file is empty or binary.
    assert result.exit_code == 1 and "nothing to index" in result.output and "loading the model" not in result.output
    assert not index.exists()
    again = runner.invoke(app, ["index", str(source.parent / "in"), "--index", str(index), "--model", "fake:test",
                                "--layers", "-1"])
    assert "was built with other settings" not in again.output


def test_all_skipped_into_an_existing_empty_folder_removes_only_what_it_made(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "notes.md").write_text("mine")
    result = runner.invoke(app, ["index", str(tmp_path / "empty.txt"), "--index", str(folder), "--model", "fake:test"])
    assert result.exit_code == 1
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]


def test_ray_engine_without_ray_leaves_no_folder(tmp_path: Path, bank_corpus: Path, no_model_load: None) -> None:
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("Ray is installed here")
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test",
                                 "--engine", "ray"])
    assert result.exit_code == 1 and "needs Ray" in result.output
    assert not (tmp_path / "i").exists()


@pytest.mark.parametrize("db, message", [
    ("postgresql://nobody@127.0.0.1:{port}/none", "Connection refused"),
    ("sqlite:///{tmp}/no/such/folder/m.sqlite", "cannot be made in {tmp}/no/such/folder: no such folder"),
])
def test_failed_database_leaves_no_folder_and_fails_before_the_model_loads(
        tmp_path: Path, bank_corpus: Path, no_model_load: None, db: str, message: str) -> None:
    """A --db that cannot be reached had been said after "loading the model" (4-6 s with the bundled MiniLM)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "i"), "--model", "fake:test",
                                 "--db", db.format(port=port, tmp=tmp_path)])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert message.format(tmp=tmp_path) in result.output and "loading the model" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error: ")]) == 1
    assert [p.name for p in tmp_path.iterdir()] == [bank_corpus.name]  # no index folder, no database file


def test_a_new_index_on_an_unreachable_database_is_refused_before_its_model_loads(
        tmp_path: Path, no_model_load: None) -> None:
    """The Python API checks as the command line does (opening.create): nothing made, no model loaded."""
    with pytest.raises(StorageError, match="no such folder"):
        SenseIndex.create(tmp_path / "i", settings=EncoderSettings(model="fake:test"),
                          db_url=f"sqlite:///{tmp_path}/gone/m.sqlite")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("place, message", [
    ("tool/m.sqlite", "cannot be made in {tmp}/tool: a file, not a folder"),  # an executable file where a folder goes
    ("m.sqlite", "cannot be made: a folder has its name"),
])
def test_a_sqlite_file_that_cannot_be_had_is_refused_before_the_model_loads(
        tmp_path: Path, no_model_load: None, place: str, message: str) -> None:
    """The database's folder had been the only thing checked: a file in the folder's place that has its x bit (which
    access(2) then passes) or a folder in the file's failed after the model loaded ('unable to open database file')."""
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "tool").chmod(0o755)
    (tmp_path / "m.sqlite").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StorageError, match=message.format(tmp=tmp_path)):
        SenseIndex.create(tmp_path / "i", settings=EncoderSettings(model="fake:test"),
                          db_url=f"sqlite:///{tmp_path}/{place}")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.skipif(not readonly_media.immutable_available(), reason="chattr +i is not allowed here")
def test_a_write_protected_sqlite_file_is_refused_before_the_model_loads(tmp_path: Path, no_model_load: None) -> None:
    """An existing database file that cannot be written had passed (its folder can be), to fail after the model
    loaded with 'cannot be written (attempt to write a readonly database)'."""
    database = tmp_path / "m.sqlite"
    database.write_bytes(b"")
    with readonly_media.immutable([database]), pytest.raises(StorageError, match="cannot be written: write-protected"):
        SenseIndex.create(tmp_path / "i", settings=EncoderSettings(model="fake:test"), db_url=f"sqlite:///{database}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sqlite"]


def test_serve_on_a_busy_port_fails_before_loading_and_prints_no_url(built: Path, no_model_load: None) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--index", str(built), "--port", str(port)])
        with pytest.raises(SetupError, match="already in use"):  # the machine's state, not a value given wrongly
            bind("127.0.0.1", port)
    assert result.exit_code == 1 and "already in use" in result.output
    assert "http://" not in result.output



def test_serve_on_an_address_this_machine_lacks_blames_the_host_not_the_port(built: Path,
                                                                             no_model_load: None) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737), never an address of a real interface; the advice had been "pick another
    # --port", which cannot help.
    result = runner.invoke(app, ["serve", "--index", str(built), "--host", "192.0.2.1", "--port", "8000"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no network interface of this machine has that address; pick another with --host" in result.output
    assert "--port" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--host", ""], "Invalid value for '--host': an empty host name ('') names no address (is a shell variable "
                     "unset?)"),
    (["--host", "  "], "Invalid value for '--host': an empty host name ('  ') names no address"),
    (["--host", "bad host"], "Invalid value for '--host': 'bad host' is not a host name or address"),
    (["--host", "localhost:8000"], "'localhost:8000' is not an address alone: give the port with --port"),
    (["--host", "[::1]"], "'[::1]' is not an address alone"),
    (["--host", " 127.0.0.1"], "' 127.0.0.1' has white space around the address"),
    (["--allow-host", "lab.example", "--allow-host", ""], "Invalid value for '--allow-host': an empty host name ('')"),
])
def test_serve_refuses_an_empty_or_malformed_host_before_the_index_is_read(tmp_path: Path, args: list[str],
                                                                           message: str, no_model_load: None) -> None:
    """`serve --host ""` (an unset shell variable) had said "cannot listen on : Name or service not known", exit 1,
    after the index was read (a missing index was the error shown), as `--host localhost:8000` did; an empty
    --allow-host was refused only after the port was bound. Each is a usage error now, before the index is read."""
    result = _usage_error(["serve", "--index", str(tmp_path / "no-index"), *args], message)
    assert "no index" not in result.output and "cannot listen" not in result.output


NOT_UTF8 = "\udcff"  # how Python hands over a command-line byte 0xff (PEP 383)


@pytest.mark.parametrize("args, label", [
    (["query", f"the [[bank]] {NOT_UTF8}"], "TEXT"),
    (["query", "the [[bank]]", "--where", f"year>{NOT_UTF8}"], "--where"),
    (["query", "the [[bank]]", "--sense", f"fin{NOT_UTF8}"], "--sense"),
    (["usages", f"bank{NOT_UTF8}"], "WORD"),
    (["senses", f"b{NOT_UTF8}nk"], "WORD"),
    (["sense", "add", "bank", f"fin{NOT_UTF8}", "the [[bank]] lent"], "NAME"),
    (["index", "corpus", "--lemma-language", f"e{NOT_UTF8}"], "--lemma-language"),
])
def test_text_that_is_not_utf8_is_a_usage_error_naming_the_parameter(
        args: list[str], label: str, built: Path, no_model_load: None) -> None:
    """Text with bytes that are not UTF-8 used to reach the tokenizer or SQLite ("unexpected TypeError")."""
    _usage_error([*args, "--index", str(built)], f"{label} is not valid UTF-8 text (byte 0xff at character")


def test_paths_that_are_not_utf8_still_work(tmp_path: Path, bank_corpus: Path) -> None:
    """A file name may hold any bytes: path parameters are not held to UTF-8, and every command reads, writes and
    prints such a folder's index (FAISS, SQLite's URIs and the database error hook's URL took names as UTF-8 only),
    even on a strict terminal."""
    corpus = tmp_path / f"corpus{NOT_UTF8}"
    bank_corpus.rename(corpus)
    index = tmp_path / f"idx{NOT_UTF8}"
    strict = {"PYTHONIOENCODING": "utf-8:strict"}  # as under a UTF-8 locale (C.UTF-8 escapes by itself)
    for args in (["index", corpus, "--model", "fake:test"], ["usages", "bank"], ["query", "the [[bank]] raised rates"],
                 ["documents", "--json"], ["verify"], ["sense", "add", "bank", "finance", "the [[bank]] raised rates"],
                 ["sense", "list"], ["remove", corpus / "bank.txt"], ["index", corpus]):
        result = run_cli(*args, "--index", index, **strict)
        assert result.returncode == 0, (args, result.stderr)
    assert "idx\\xff" in run_cli("verify", "--index", index, **strict).stdout


def test_database_urls_with_paths_that_are_not_utf8_are_shown_escaped() -> None:
    from sensesearch.dburl import redact

    assert redact(f"sqlite:////data/idx{NOT_UTF8}/meta.sqlite") == "sqlite:////data/idx\\xff/meta.sqlite"
    assert redact("postgresql://user:secret@host/db") == "postgresql://user:***@host/db"


def test_a_shell_line_that_is_not_utf8_is_an_error_line_and_the_shell_goes_on(built: Path) -> None:
    import subprocess

    from .robust_util import REPO, child_env, cli_command

    script = b"the [[bank]] \xff raised\nMoney in the [[bank]].\n:quit\n"
    result = subprocess.run(cli_command("shell", "--index", built), input=script, capture_output=True,
                            env=child_env(PYTHONIOENCODING="utf-8:strict"), cwd=REPO, timeout=120, check=False)
    errors = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, errors
    assert "Error: the line is not valid UTF-8 text (byte 0xff at character 14)" in errors and "unexpected" not in errors
    assert b"bank" in result.stdout


@pytest.mark.parametrize("args", [["query", "--file", "-", "--index"], ["compare", "bank", "-", "--model", "fake:test"]])
def test_standard_input_that_is_not_utf8_is_read_as_a_file_is(args: list[str], built: Path) -> None:
    """Bytes that are not UTF-8 on standard input are replaced (U+FFFD), as in a file given by name; they used to
    reach the tokenizer as lone surrogates ("unexpected UnicodeEncodeError")."""
    import subprocess

    from .robust_util import REPO, child_env, cli_command

    lines = b"the [[bank]] \xff raised rates\nwe sat on the [[bank]]\n"
    if args[0] == "compare":
        lines = lines.replace(b"[[", b"").replace(b"]]", b"")
    if args[-1] == "--index":
        args = [*args, str(built)]
    result = subprocess.run(cli_command(*args), input=lines, capture_output=True,
                            env=child_env(PYTHONIOENCODING="utf-8:strict"), cwd=REPO, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert "bank".encode() in result.stdout


def test_a_document_named_with_bytes_that_are_not_utf8_is_found_as_typed() -> None:
    """Labels and paths are stored with \\xNN escapes; a name typed with the raw bytes (as a shell passes a file
    name) used to match nothing, as a base name or as a label."""
    from sensesearch.catalog import match_documents
    from sensesearch.records import DocumentEntry

    stored = "/corpus/f\\xfe.txt"
    entry = DocumentEntry(id=1, label=stored, path=stored, key=stored, sentences=1, occurrences=1, word_pieces=1)
    for name in ("f\udcfe.txt", "f\\xfe.txt", "/corpus/f\udcfe.txt", stored):
        assert match_documents([entry], [name])[name] == [entry], name


def test_another_compression_for_an_existing_index_is_refused_not_ignored(built: Path, bank_corpus: Path,
                                                                           no_model_load: None) -> None:
    other = runner.invoke(app, ["index", str(bank_corpus), "--index", str(built), "--compression", "pq", "-q"])
    assert other.exit_code == 1 and "stores its vectors as sq8, not pq" in other.output
    assert isinstance(other.exception, SystemExit)


@pytest.mark.parametrize("args, code, message", [
    (["usages", "bank"], 1, "it is a file, not an index folder"),
    (["info"], 1, "it is a file, not an index folder"),
    (["index", "{corpus}"], 2, "is a file, not a folder; nothing was changed"),
])
def test_an_index_path_that_is_a_file_is_named_as_one(tmp_path: Path, bank_corpus: Path, no_model_load: None,
                                                      args: list[str], code: int, message: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not an index")
    for target in (afile, afile / "sub"):
        if args[0] != "index" and target != afile:
            continue
        result = runner.invoke(app, [a.format(corpus=bank_corpus) for a in args] + ["--index", str(target)])
        assert result.exit_code == code and message in " ".join(result.output.split()), result.output
    assert afile.read_text() == "not an index"


@pytest.mark.parametrize("option", [["--pooling", "first"], ["--compression", "flat"], ["--lemma-language", "de"],
                                    ["--layers", "-2,-1"]])
def test_a_setting_an_existing_index_lacks_is_one_line_before_any_progress(built: Path, bank_corpus: Path,
                                                                            no_model_load: None,
                                                                            option: list[str]) -> None:
    result = runner.invoke(app, ["index", str(bank_corpus), "--index", str(built), *option])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("Error:") and "loading the model" not in result.output, result.output


def test_inputs_that_are_all_left_out_fail_before_the_model_loads(tmp_path: Path, no_model_load: None) -> None:
    """A folder of no text files, or a link loop, was only found unreadable after the model had loaded (5-10 s)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for inputs in ([empty], [tmp_path / "loop"], [empty, tmp_path / "loop"]):
        result = runner.invoke(app, ["index", *map(str, inputs), "--index", str(tmp_path / "idx"), "--model",
                                     "fake:test"])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert "nothing to index: every input is skipped" in " ".join(result.output.split())
        assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize("case", ["folder of no text files", "empty file, new index", "empty file, existing index"])
def test_the_first_input_left_out_is_named_on_the_error_s_one_line(tmp_path: Path, built: Path, case: str) -> None:
    """"first: a<line break>b.txt" broke the error's line, and a tab in a name read as a space: drawn ␊ and ␉."""
    odd = tmp_path / "odd\nname\tone"
    if case == "folder of no text files":
        odd.mkdir()
    else:
        odd = odd.with_suffix(".txt")
        odd.write_text("")
    target = built if case == "empty file, existing index" else tmp_path / "new"
    result = runner.invoke(app, ["index", str(odd), "--index", str(target), "--model", "fake:test"])
    error = result.stderr[result.stderr.index("Error: "):]
    assert result.exit_code == 1 and len(error.splitlines()) == 1, result.stderr
    assert f"(first: {tmp_path}/odd\u240aname\u2409one" in error, error


def test_standard_input_is_named_so_in_query_file_messages(built: Path) -> None:
    """`query --file -` said "- holds no query" and "-, line 2: ...", a bare dash read as a typo."""
    empty = CliRunner().invoke(app, ["query", "--file", "-", "--index", str(built)], input="\n")
    assert empty.exit_code == 1 and "Error: standard input holds no query" in empty.output, empty.output
    unmarked = CliRunner().invoke(app, ["query", "--file", "-", "--index", str(built)],
                                  input="the [[bank]] rose\nno marker here\n")
    assert unmarked.exit_code != 0 and isinstance(unmarked.exception, SystemExit), unmarked.output
    assert "standard input, line 2: mark the word" in unmarked.output, unmarked.output
