"""The console script's entry point: a Ctrl-C while the command line is still being imported is one line and exit
130, as during a command (it was a traceback of the import it cut short)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pytest

from sensesearch import cli_entry

from .robust_util import REPO, child_env


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
