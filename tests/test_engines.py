"""Engine choice on the command line, and the local engine's independence from Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app

from .conftest import REPO


def test_local_engine_imports_nothing_from_ray(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from sensesearch import SenseIndex, cli\n"
        "from sensesearch.engines import open_engine\n"
        "loaded = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args, message, code", [
    (["--engine", "spark"], "'spark' is not one of 'local', 'ray'", 2),
    (["--workers", "2"], "apply to --engine ray", 2),
    (["--address", "auto"], "apply to --engine ray", 2),
])
def test_bad_engine_options_fail_before_anything_is_written(tmp_path: Path, bank_corpus: Path, args: list[str],
                                                          message: str, code: int) -> None:
    result = CliRunner().invoke(app, ["index", str(bank_corpus), "-i", str(tmp_path / "idx"), "-m", "fake:test",
                                      *args])
    assert result.exit_code == code and message in " ".join(result.output.split())
    assert not (tmp_path / "idx").exists()
