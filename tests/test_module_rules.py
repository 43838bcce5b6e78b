"""The layering rule of DESIGN.md, read from the source with `ast`: nothing below the facade imports it.

Only the facade's own package entry (`__init__`) and the front ends may reach sensesearch.index, and
the front ends only through the public package (`from sensesearch import SenseIndex`). FRONT_ENDS_PENDING
lists the CLI modules still being moved onto the public API; once empty, they are held to it too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sensesearch"
FACADE = {"index.py", "__init__.py"}
FRONT_ENDS_PENDING = {"cli.py", "cli_robust.py", "cli_eval.py"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every sensesearch module `path` imports, TYPE_CHECKING blocks and function bodies included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "sensesearch" + ("." + base if base else "")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "sensesearch" or name.startswith("sensesearch.")}


def test_only_the_facade_and_front_ends_import_the_facade() -> None:
    offenders = {path.name: sorted(imported_modules(path) & {"sensesearch.index"})
                 for path in sorted(PACKAGE.glob("*.py"))
                 if path.name not in FACADE | FRONT_ENDS_PENDING}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_rule_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .index import SenseIndex\n"
                      "def f():\n    import sensesearch.index\n    from . import index\n")
    assert imported_modules(sample) >= {"sensesearch.index"}
    sample.write_text("from . import SenseIndex\nfrom .records import Hit\n")
    assert "sensesearch.index" not in imported_modules(sample)


def bare_domain_errors(path: Path) -> list[int]:
    """Lines of `path` that make a bare SenseSearchError, the base class, whose kind says nobody's fault."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) ==
            "SenseSearchError"]


def test_every_error_raised_names_its_kind() -> None:
    """Whose fault an error is (the user's: 4xx, exit 2 for a usage error; the system's: 5xx) is read from its class:
    some 40 bare SenseSearchErrors (a locked database, a full disk among them) had been answered 400, the client's."""
    found = {path.name: bare_domain_errors(path) for path in sorted(PACKAGE.glob("*.py")) if path.name != "errors.py"}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_rule_reader_sees_a_bare_domain_error(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from . import errors\nfrom .errors import SenseSearchError\nraise SenseSearchError('x')\n"
                      "e = errors.SenseSearchError('y')\nraise StorageError('z')\n")
    assert bare_domain_errors(sample) == [3, 4]
