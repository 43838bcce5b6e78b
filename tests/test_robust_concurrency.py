"""Readers in other processes keep answering while a writer process adds to the same index; a second
writer stops with a clear message, or waits its turn with --wait."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings

from .robust_util import REPO, child_env, run_cli, snapshot, start_cli, write_corpus

SLOW_WRITER = {"SENSESEARCH_CHECKPOINT_OCCURRENCES": "200", "FAKE_CHUNK_SENTENCES": "64",
               "FAKE_ENCODE_DELAY": "0.4"}


def _wait_until_locked(target: Path, writer: subprocess.Popen[str]) -> None:
    """Watch /proc/locks rather than probing the lock, which could make the writer itself find it taken."""
    deadline = time.monotonic() + 60
    while writer.poll() is None and time.monotonic() < deadline:
        lock = target / "write.lock"
        if lock.exists() and f":{lock.stat().st_ino} " in Path("/proc/locks").read_text():
            return
        time.sleep(0.02)
    raise AssertionError("the writer never took the lock")


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks to see the writer's lock")
def test_readers_see_committed_states_while_a_writer_adds(tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "first", 10, 10)
    second = write_corpus(tmp_path / "second", 40, 10, tag="x")
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=EncoderSettings(model="fake:conc"), compression="flat") as index:
        index.add([first])
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, str(REPO / "tests" / "robust_reader.py"), str(target), str(stop),
                                 str(tmp_path / f"reader{i}.json")], env=child_env(), cwd=REPO) for i in range(2)]
    try:
        time.sleep(1.0)
        release = tmp_path / "release"
        writer = start_cli("index", second, "--index", target, "--quiet", FAKE_HOLD_UNTIL=str(release), **SLOW_WRITER)
        _wait_until_locked(target, writer)
        refused = run_cli("index", first, "--index", target, "--quiet")
        waited = start_cli("index", first, second, "--index", target, "--wait", "120")
        release.touch()
        writer_out = writer.communicate(timeout=120)
        waited_out = waited.communicate(timeout=120)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(60)
    assert writer.returncode == 0, writer_out
    assert refused.returncode == 1 and "another process is writing" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert waited.returncode == 0 and "Indexed 0 documents (50 unchanged" in waited_out[1], waited_out
    for i in range(2):
        report = json.loads((tmp_path / f"reader{i}.json").read_text())
        assert report["problems"] == [], report["problems"]
        assert report["checked"] >= report["rounds"] // 2, report  # most rounds saw no commit between their reads
        seen = report["documents_seen"]
        assert seen == sorted(seen), "a reader saw the index shrink"
        assert seen[0] == 10 and seen[-1] == 50 and len(set(seen)) >= 3, seen
    final = snapshot(target)
    assert len(final.documents) == 50 and list(final.row_ids) == list(final.vector_ids)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks to see the writer's lock")
def test_a_run_waiting_while_the_run_that_made_the_index_is_stopped_makes_its_own(tmp_path: Path,
                                                                                  db_url: str | None) -> None:
    """The stopped run removes the index it made (and its tables) before it lets the lock go, so the waiting run
    finds the folder as it was and makes its own index, instead of opening one half removed."""
    first = write_corpus(tmp_path / "first", 10, 10)
    second = write_corpus(tmp_path / "second", 3, 10, tag="x")
    target = tmp_path / "idx"
    db = ["--db", db_url] if db_url else []
    made = start_cli("index", first, "--index", target, "--model", "fake:conc", "--quiet", *db,
                     FAKE_HOLD_UNTIL=str(tmp_path / "never"))
    _wait_until_locked(target, made)
    waiting = start_cli("index", second, "--index", target, "--model", "fake:conc", "--wait", "120", "--quiet", *db)
    time.sleep(3)  # past its look for config.json, into its wait for the lock
    made.send_signal(signal.SIGINT)
    _, stopped = made.communicate(timeout=60)
    assert made.returncode == 130, stopped
    _, errors = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, errors
    with SenseIndex.open(target, read_only=True) as index:
        assert index.info().documents == 3


@pytest.mark.parametrize("remake", [False, True])
def test_a_folder_removed_while_a_writer_waits_for_its_lock_is_named_or_made_again(tmp_path: Path,
                                                                                  remake: bool) -> None:
    import fcntl
    import os
    import shutil
    import threading

    from sensesearch.errors import IndexNotFoundError
    from sensesearch.folder import LOCK_FILE, acquire_write_lock

    folder = tmp_path / "idx"
    folder.mkdir()
    holder = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)

    def remove_then_let_go() -> None:
        time.sleep(0.5)
        shutil.rmtree(folder)
        os.close(holder)

    remover = threading.Thread(target=remove_then_let_go)
    remover.start()
    try:
        if remake:
            acquire_write_lock(folder, 10, remake=True).release()
            assert folder.is_dir()
        else:
            with pytest.raises(IndexNotFoundError, match="was removed while this run waited"):
                acquire_write_lock(folder, 10)
            assert not folder.exists()
    finally:
        remover.join()
