"""click's own usage errors (an unknown option, a missing argument, a value its type refuses) are one line on stderr
and exit 2, as every other failure of the command line is: they had been the usage line, a "Try ..." hint, a blank
line and the error. `--help`, and a group given no command, still show the help."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app

from .robust_util import run_cli

runner = CliRunner()


@pytest.mark.parametrize("args, message, command", [
    (["--bogus"], "No such option: --bogus", ""),
    (["bogus"], "No such command 'bogus'", ""),
    (["index", "corpora/demo", "--bogus"], "No such option: --bogus", " index"),
    (["index"], "Missing argument 'PATH'", " index"),
    (["index", "corpora/demo", "--compression", "zip"], "'zip' is not one of 'sq8', 'fp16', 'flat', 'pq'", " index"),
    (["query", "the [[bank]]", "-k", "abc"], "Invalid value for '-k'", " query"),
    (["usages"], "Missing argument 'word'", " usages"),
    (["usages", "bank", "--limit", "0"], "Invalid value for '--limit'", " usages"),
    (["senses", "bank", "--k", "0"], "Invalid value for '-k'", " senses"),
    (["senses", "bank", "--chart", "pie"], "area or bars, not 'pie'", " senses"),
    (["info", "--index"], "Option '--index' requires an argument", " info"),
    (["documents", "extra"], "unexpected extra argument", " documents"),
    (["serve", "--port", "99999"], "Invalid value for '--port'", " serve"),
    (["sense", "bogus"], "No such command 'bogus'", " sense"),
    (["sense", "add", "bank", "--index"], "Option '--index' requires an argument", " sense add"),
    (["sense", "config", "bank", "--method", "zz"], "'zz' is not one of", " sense config"),
    (["eval", "wic"], "Missing argument 'tune'", " eval wic"),
])
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], message: str, command: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and message in lines[0], result.output
    assert re.search(rf"\(see '\S+{command} --help'\)$", lines[0]), result.output
    assert "Value error" not in lines[0], result.output  # typer's pydantic prefix before a refused choice


@pytest.mark.parametrize("args, message, command", [
    (["query", "--index", "no-index-here"], "give either a TEXT to search for or --file", " query"),
    (["query", "the [[bank]]", "--json", "--csv"], "choose one of --json and --csv", " query"),
    (["sense", "add", "bank", "finance", "--index", "no-index-here"], "exactly one of them", " sense add"),
    (["eval", "coarsewsd", ".", ".", "--method", "zz"], "--method must be centroid or knn", " eval coarsewsd"),
])
def test_the_commands_own_usage_errors_name_their_help_too(args: list[str], message: str, command: str) -> None:
    """Usage errors a command raises itself (exit 2) ended without the hint click's own carry."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert re.search(rf"\(see '\S+{command} --help'\)$", lines[0]), result.output


def test_a_usage_error_of_a_real_process_is_one_line_on_stderr() -> None:
    done = run_cli("query", "the [[bank]]", "-k", "abc", "--index", "no-index-here")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Invalid value for '-k'"), done.stderr
    assert lines[0].endswith("(see 'sensesearch query --help')"), done.stderr


def test_help_is_unchanged_and_a_group_without_a_command_shows_its_help() -> None:
    shown = runner.invoke(app, ["index", "--help"])
    assert shown.exit_code == 0 and shown.output.startswith("Usage: ") and "Example:" in shown.output
    group = runner.invoke(app, ["sense"])
    assert group.exit_code == 2 and "Usage: " in group.output and "Commands:" in group.output, group.output
