"""A SQLite `--db` outside the index folder: a relative path stays the file it named when the index was made, a
store file that is missing is never made anew (nor the index's vectors dropped for it), and an in-memory database,
gone when the command ends, is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import IndexCorruptError, SenseIndex, UsageError, verify_index
from sensesearch.cli import app
from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.dburl import check_url, same_database, with_absolute_path


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    """Two current folders to run from: where an index is made, and another."""
    made, other = tmp_path / "made", tmp_path / "other"
    made.mkdir()
    other.mkdir()
    return made, other


def _documents(folder: Path) -> list[str]:
    with SenseIndex.open(folder, read_only=True) as reader:
        return sorted(Path(doc["path"]).name for doc in reader.documents())


def test_a_relative_sqlite_path_is_stored_absolute_and_found_from_any_folder(
        tmp_path: Path, places: tuple[Path, Path], bank_corpus: Path, fake_settings: EncoderSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    made, other = places
    monkeypatch.chdir(made)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url="sqlite:///m.sqlite") as index:
        index.add([bank_corpus / "bank.txt"])
    assert index.config.db_url == f"sqlite:///{made.resolve() / 'm.sqlite'}"
    assert json.loads((tmp_path / "idx" / "config.json").read_text())["db_url"] == index.config.db_url
    monkeypatch.chdir(other)
    (other / "river.txt").write_text("The river bank flooded.\n")
    with SenseIndex.open(tmp_path / "idx") as writer:
        writer.add([other / "river.txt"])
        assert writer.storage.dropped_on_open == 0
    assert not (other / "m.sqlite").exists()
    assert _documents(tmp_path / "idx") == ["bank.txt", "river.txt"]


def test_the_cli_keeps_a_relative_db_path_and_takes_it_again_from_the_folder_it_names(
        tmp_path: Path, places: tuple[Path, Path], bank_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made, other = places
    runner = CliRunner()
    index = str(tmp_path / "idx")
    monkeypatch.chdir(made)
    first = runner.invoke(app, ["index", str(bank_corpus), "-i", index, "-m", "fake:test", "--db", "sqlite:///m.sqlite",
                                "-q"])
    assert first.exit_code == 0, first.output
    monkeypatch.chdir(other)
    (other / "river.txt").write_text("The river bank flooded.\n")
    again = runner.invoke(app, ["index", "river.txt", "-i", index, "-q"])
    assert again.exit_code == 0, again.output
    assert not (other / "m.sqlite").exists()
    # The same file named again relative to where it now lies is the index's own, not "another store".
    named = runner.invoke(app, ["index", "river.txt", "-i", index, "-q", "--db", "sqlite:///../made/m.sqlite"])
    assert named.exit_code == 0, named.output
    listed = runner.invoke(app, ["documents", "-i", index, "--json"])
    assert sorted(Path(row["path"]).name for row in json.loads(listed.stdout)) == ["bank.txt", "river.txt"]


def _index_with_relative_db(folder: Path, made: Path, corpus: Path, settings: EncoderSettings,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """An index as sensesearch made it before it stored SQLite paths absolute: config.json (with a checksum that
    holds) names its store `sqlite:///m.sqlite`, a file in `made`."""
    monkeypatch.chdir(made)
    with SenseIndex.create(folder, settings=settings, db_url="sqlite:///m.sqlite") as index:
        index.add([corpus])
        config = index.config
    replace(config, db_url="sqlite:///m.sqlite").save(folder)
    assert IndexConfig.checksum_problem(folder) is None


def test_an_index_naming_a_relative_sqlite_path_fails_elsewhere_in_one_line_and_makes_no_store(
        tmp_path: Path, places: tuple[Path, Path], bank_corpus: Path, fake_settings: EncoderSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    made, other = places
    folder = tmp_path / "idx"
    _index_with_relative_db(folder, made, bank_corpus, fake_settings, monkeypatch)
    monkeypatch.chdir(other)
    looked_for = str(other / "m.sqlite")
    for opening in (lambda: SenseIndex.open(folder), lambda: SenseIndex.open(folder, read_only=True),
                    lambda: SenseIndex.open_or_create(folder, fake_settings),
                    lambda: verify_index(folder, repair=True, check_model=False)):
        with pytest.raises(IndexCorruptError) as refused:
            opening()
        assert looked_for in str(refused.value) and "run sensesearch from the folder the index was made in" in str(
            refused.value)
        assert not (other / "m.sqlite").exists()
    result = CliRunner().invoke(app, ["index", str(bank_corpus), "-i", str(folder), "-q"])
    assert result.exit_code == 1 and looked_for in result.output and len(result.output.strip().splitlines()) == 1
    assert not (other / "m.sqlite").exists()
    monkeypatch.chdir(made)
    assert _documents(folder) == ["bank.txt"]
    with SenseIndex.open(folder) as writer:
        assert writer.storage.dropped_on_open == 0 and writer.storage.vectors.ntotal == writer.info().occurrences > 0


def test_an_outside_sqlite_store_that_is_gone_is_not_made_anew(tmp_path: Path, bank_corpus: Path,
                                                               fake_settings: EncoderSettings) -> None:
    store = tmp_path / "outside.sqlite"
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=f"sqlite:///{store}") as index:
        index.add([bank_corpus])
    store.rename(tmp_path / "moved.sqlite")
    for read_only in (False, True):
        with pytest.raises(IndexCorruptError, match=f"{store}, is missing"):
            SenseIndex.open(tmp_path / "idx", read_only=read_only)
    assert not store.exists()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:",
                                 "sqlite:///file:m?mode=memory&cache=shared&uri=true"])
def test_an_in_memory_sqlite_database_is_refused_as_a_usage_error(tmp_path: Path, bank_corpus: Path,
                                                                   fake_settings: EncoderSettings, url: str) -> None:
    with pytest.raises(UsageError, match="in-memory SQLite|SQLite URI"):
        check_url(url)
    with pytest.raises(UsageError):
        SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=url)
    assert not (tmp_path / "idx").exists()
    result = CliRunner().invoke(app, ["index", str(bank_corpus), "-i", str(tmp_path / "idx"), "-m", "fake:test",
                                      "--db", url])
    assert result.exit_code == 2 and ("in-memory SQLite" in result.output or "SQLite URI" in result.output)
    assert not (tmp_path / "idx").exists()


def test_sqlite_paths_are_compared_as_sqlite_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = f"sqlite:///{tmp_path.resolve() / 'm.sqlite'}"
    assert with_absolute_path("sqlite:///m.sqlite") == absolute
    assert with_absolute_path(absolute) == absolute and with_absolute_path("postgresql://h/d") == "postgresql://h/d"
    assert with_absolute_path("sqlite:///a b%25c.sqlite?timeout=5") == f"sqlite:///{tmp_path.resolve()}/a b%25c.sqlite?timeout=5"
    assert same_database(absolute, "sqlite:///m.sqlite") and same_database("sqlite:///./m.sqlite", absolute)
    assert not same_database(absolute, "sqlite:///sub/m.sqlite")
