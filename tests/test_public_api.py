"""The command line and the server use only the public API, and the CLI starts without heavy imports.

Public API: the names `sensesearch/__init__` exports, sensesearch.records and sensesearch.errors.
The front ends may import each other (cli*.py, server*.py), nothing else of the package.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sensesearch

PACKAGE = Path(sensesearch.__file__).parent
PUBLIC_MODULES = {"sensesearch", "sensesearch.records", "sensesearch.errors"}
FRONT_ENDS = sorted([*PACKAGE.glob("cli*.py"), *PACKAGE.glob("server*.py"), PACKAGE / "__main__.py"])


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every import in the file, TYPE_CHECKING blocks included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = "sensesearch" + ("." + module if module else "")
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    return found


def _front_end(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return module.startswith("sensesearch.") and name.startswith(("cli", "server"))


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: p.name)
def test_front_ends_import_only_the_public_api(path: Path) -> None:
    wrong = []
    for line, module, names in _imports(path):
        if module != "sensesearch" and not module.startswith("sensesearch."):
            continue
        if module == "sensesearch":
            wrong += [f"{path.name}:{line}: sensesearch.{n}" for n in names
                      if n not in sensesearch.__all__ and not _front_end(f"sensesearch.{n}")]
        elif module not in PUBLIC_MODULES and not _front_end(module):
            wrong.append(f"{path.name}:{line}: {module}")
    assert not wrong, "imports past the public API: " + ", ".join(wrong)


def test_every_public_name_resolves() -> None:
    for name in sensesearch.__all__:
        assert getattr(sensesearch, name) is not None, name


def _loaded_after(code: str) -> set[str]:
    probe = ("import json, sys\n" + code + "\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


HEAVY = {"torch", "transformers", "sklearn", "matplotlib", "faiss", "sqlalchemy", "fastapi", "uvicorn"}


def test_help_imports_nothing_heavy() -> None:
    loaded = _loaded_after("import sys\nsys.argv = ['sensesearch', '--help']\nfrom sensesearch.cli import main\n"
                           "try:\n    main()\nexcept SystemExit:\n    pass")
    assert not loaded & HEAVY, loaded & HEAVY


def test_info_and_query_never_import_scikit_learn_or_matplotlib(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("The bank raised its rates. We sat on the bank of the river.\n")
    run_cli = ("import sys\nsys.path.insert(0, {tests!r})\nimport fake_cli\nfrom sensesearch.cli import main\n"
               "sys.argv = ['sensesearch'] + {args!r}\ntry:\n    main()\nexcept SystemExit as e:\n"
               "    assert not e.code, e.code")
    tests = str(Path(__file__).parent.parent)
    index = str(tmp_path / "i")
    indexed = _loaded_after(run_cli.format(tests=tests, args=["index", str(corpus), "--index", index, "--model",
                                                              "fake:test", "--quiet"]).replace("import fake_cli",
                                                                                               "import tests.fake_cli"))
    assert not indexed & {"sklearn", "matplotlib", "torch", "transformers"}
    for args in (["info", "--index", index], ["query", "the [[bank]]", "--index", index]):
        loaded = _loaded_after(run_cli.format(tests=tests, args=args).replace("import fake_cli",
                                                                              "import tests.fake_cli"))
        assert not loaded & {"sklearn", "matplotlib"}, (args, loaded & {"sklearn", "matplotlib"})
        if args[0] == "info":
            assert not loaded & {"torch", "transformers"}
