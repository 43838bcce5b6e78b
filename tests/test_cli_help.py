"""Every command's help renders as printed text, and every `Example:` line in it runs (fake encoder).

Placeholders in the examples are replaced by what the help says they are: `indexes/demo` by an index
of corpora/demo, /tmp/dev by a CoarseWSD-20 layout, the
WiC files by small WiC files, `--port 8000` by a free port.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from sensesearch.cli import app

from .conftest import REPO

runner = CliRunner()
DEMO = REPO / "corpora" / "demo"


def _commands() -> list[list[str]]:
    """Every command path: [], ["index"], ..., ["eval", "wic"]."""
    found: list[list[str]] = [[]]

    def walk(group: object, prefix: list[str]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            found.append([*prefix, name])
            walk(command, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return found


def _help(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def _examples() -> list[tuple[str, str]]:
    examples = []
    for path in _commands():
        for paragraph in re.split(r"\n\s*\n", _help(path)):
            text = " ".join(line.strip() for line in paragraph.strip().splitlines())
            if text.startswith("Example:"):
                examples.append((" ".join(path) or "sensesearch", text.removeprefix("Example:").strip()))
    return examples


EXAMPLES = _examples()


def test_every_command_has_an_example_and_markup_is_not_eaten() -> None:
    named = {name for name, _ in EXAMPLES}
    assert named >= {" ".join(p) for p in _commands() if p}, "a command without an Example: line"
    assert "money in the [[bank]]" in _help([])
    assert "the [[bank]] raised its rates" in _help(["query"])
    assert "[[marked]]" in _help(["compare"])


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "top")
def test_help_text_is_clean(path: list[str]) -> None:
    text = _help(path)
    assert re.search(r"\s\.(\s|$)", text) is None, "option help ending in ' .'"
    assert "<bool>" not in text
    assert "[]" not in text
    # An example wrapped at the terminal's width breaks when pasted ("> bank-" then "senses.csv").
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip().startswith("Example:"):
            assert len(paragraph.strip().splitlines()) == 1, paragraph


def test_usages_sort_does_not_promise_a_score() -> None:
    text = _help(["usages"])
    assert "score" not in text and "<position|left|right>" in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _materials(tmp_path: Path) -> dict[str, str]:
    index = tmp_path / "demo-index"
    built = runner.invoke(app, ["index", str(DEMO), "--index", str(index), "--model", "fake:test", "--quiet"])
    assert built.exit_code == 0, built.output
    # The `sense` examples list, configure and remove named senses: the index has the two they name.
    for name, example in (("finance", "The [[bank]] lent money at a low rate."),
                          ("river", "Reeds grew on the muddy [[bank]] of the river.")):
        added = runner.invoke(app, ["sense", "add", "bank", name, example, "--index", str(index)])
        assert added.exit_code == 0, added.output
    dev = tmp_path / "dev"
    rows = {"bank": ["1\tthe bank lent money", "3\twe sat on the bank", "1\ta bank loan", "2\tthe river bank"],
            "crane": ["1\ta crane flew", "1\tthe crane lifted steel", "2\ta crane nested", "1\tthe crane moved"]}
    for split in ("train", "test"):
        for word, lines in rows.items():
            folder = dev / split / word
            folder.mkdir(parents=True)
            (folder / f"{split}.data.txt").write_text("\n".join(lines) + "\n")
            (folder / f"{split}.gold.txt").write_text("0\n1\n0\n1\n")
            (folder / "classes_map.txt").write_text(json.dumps({"0": f"{word}_a", "1": f"{word}_b"}))
    wic = tmp_path / "wic"
    wic.mkdir()
    pair = "bank\tN\t1-3\tthe bank lent money\twe sat on the bank"
    for name in ("train", "dev"):
        (wic / f"{name}.data.txt").write_text("\n".join([pair, pair.replace("we sat on", "she paid the")]) + "\n")
        (wic / f"{name}.gold.txt").write_text("F\nT\n")
    # Files the repository ships (corpora/demo, examples/queries.txt) are read where it keeps them.
    return {"indexes/demo": str(index), "corpora/demo": str(DEMO), "examples/": str(REPO / "examples") + "/",
            "/tmp/dev": str(dev), "../shared/data/wic": str(wic), "bank.png": str(tmp_path / "bank.png"),
            "--port 8000": f"--port {_free_port()}"}


def _with_model(args: list[str]) -> list[str]:
    """The fake encoder for every command that loads a model of its own choosing."""
    takes_model = args[:1] in (["index"], ["compare"], ["eval"])
    return [*args, "--model", "fake:test"] if takes_model and "--model" not in args else args


@pytest.mark.parametrize("name, example", EXAMPLES, ids=[f"{n}:{i}" for i, (n, _) in enumerate(EXAMPLES)])
def test_example_runs(name: str, example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    monkeypatch.chdir(tmp_path)
    for old, new in _materials(tmp_path).items():
        example = example.replace(old, new)
    for command in example.split(" && "):
        stdin = None
        if " | " in command:
            feeder, command = command.split(" | ", 1)
            stdin = shlex.split(feeder)[1] + "\n"
        redirect = None
        if " > " in command:
            command, redirect = command.split(" > ", 1)
        args = shlex.split(command)
        assert args[0] == "sensesearch"
        result = runner.invoke(app, _with_model(args[1:]), input=stdin)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        if redirect is not None:
            assert result.stdout, f"{command} printed nothing to send to {redirect}"
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_index_help_names_every_kind_of_file_a_folder_is_read_for() -> None:
    """The help named .txt and .jsonl only, where a folder's .text, .md and .ndjson files are read too."""
    from sensesearch.inputs import JSONL_SUFFIXES, TEXT_SUFFIXES

    shown = " ".join(CliRunner().invoke(app, ["index", "--help"], env={"COLUMNS": "200"}).output.split())
    assert all(suffix in shown for suffix in TEXT_SUFFIXES | JSONL_SUFFIXES), shown
