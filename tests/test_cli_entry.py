"""The console script's entry point: a Ctrl-C while the command line is still being imported is one line and exit
130, as during a command (it was a traceback of the import it cut short)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import pytest

from sensesearch import cli_entry

from .robust_util import REPO, child_env, cli_command, run_cli, write_corpus


class _CtrlCOnImport:
    """A meta path finder that acts as a Ctrl-C arriving while `name` is imported."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> ModuleSpec | None:
        if fullname == self.name:
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_command_line_is_imported(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(sys.modules, "sensesearch.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_CtrlCOnImport("sensesearch.cli"), *sys.meta_path])
    with pytest.raises(SystemExit) as stopped:
        cli_entry.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "Interrupted.\n"


def test_import_sensesearch_loads_nothing_heavy() -> None:
    """What makes the window for an uncaught Ctrl-C small: `import sensesearch` reads no numpy, typer or torch."""
    code = ("import sys, sensesearch; heavy = [m for m in ('numpy', 'typer', 'rich', 'torch', 'sqlalchemy', "
            "'sensesearch.config') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, check=True,
                          cwd=REPO)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_console_script_and_python_m_start_through_cli_entry() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'sensesearch = "sensesearch.cli_entry:main"' in pyproject
    done = subprocess.run([sys.executable, "-m", "sensesearch", "--version"], env=child_env(), capture_output=True,
                          text=True, check=False, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr


def test_ctrl_c_while_typer_builds_the_commands(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from sensesearch import cli

    def interrupted() -> None:
        raise KeyboardInterrupt  # as from typer.main.get_command, before click's own handler is in place

    monkeypatch.setattr(cli, "main", interrupted)
    with pytest.raises(SystemExit) as stopped:
        cli_entry.main()
    assert stopped.value.code == 130 and capsys.readouterr().err == "Interrupted.\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["query", "--help"], ["info", "--index", "{index}"],
                                  ["query", "the [[doc]] here", "--index", "{index}", "--json"]])
def test_output_that_cannot_be_written_is_one_line_and_exit_1(args: list[str], tmp_path: Path) -> None:
    """`> /dev/full` (a full disk): --help and --version had printed a traceback, a command "unexpected OSError"."""
    index = tmp_path / "idx"
    if "{index}" in args:
        built = run_cli("index", write_corpus(tmp_path / "c", 1, 2), "--index", index, "--model", "fake:test",
                        "--quiet")
        assert built.returncode == 0, built.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run(cli_command(*[a.replace("{index}", str(index)) for a in args]), env=child_env(),
                              stdout=full, stderr=subprocess.PIPE, text=True, check=False, cwd=REPO, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: cannot write the output: No space left on device\n"
