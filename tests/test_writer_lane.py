"""The writer's SQL lane (issue 12: rows written behind a bounded queue while the caller goes on): calls in order,
failures raised a step later and rolled back, the same rows and vectors either way."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.dburl import engine_url
from sensesearch.errors import SenseSearchError
from sensesearch.ingest import CHECKPOINT_ENV
from sensesearch.lane import Lane
from sensesearch.schema import (documents, executemany_rows, json_insert_rows, metadata, occurrences, sentences,
                                words)
from sensesearch.storage import OccurrenceStore
from sensesearch.store import MetaStore
from sensesearch.vectors import VectorStore

from .test_ingest_overlap import ThreadRecordingEncoder
from .robust_util import write_corpus
from .test_storage import _agree, _config, _write_document

def test_a_lane_runs_calls_in_order_on_a_thread_of_its_own() -> None:
    seen: list[tuple[int, str]] = []
    lane = Lane(depth=2, name="test-lane")
    for i in range(50):
        lane.submit(lambda i=i: seen.append((i, threading.current_thread().name)))
    lane.flush()
    lane.close()
    assert seen == [(i, "test-lane") for i in range(50)]


def test_a_failed_call_is_raised_at_the_next_step_and_the_calls_after_it_are_skipped() -> None:
    ran: list[int] = []
    lane = Lane(depth=8)
    lane.submit(lambda: ran.append(1))
    lane.submit(lambda: (_ for _ in ()).throw(KeyError("full disk")))
    lane.submit(lambda: ran.append(3))
    assert isinstance(lane.wait(), KeyError)
    with pytest.raises(KeyError, match="full disk"):
        lane.submit(lambda: ran.append(4))
    with pytest.raises(KeyError, match="full disk"):
        lane.flush()
    lane.close()
    assert ran == [1]


def test_a_lane_of_depth_zero_runs_each_call_in_the_caller_and_raises_there() -> None:
    names: list[str] = []
    lane = Lane(depth=0)
    lane.submit(lambda: names.append(threading.current_thread().name))
    assert names == [threading.current_thread().name]
    with pytest.raises(ZeroDivisionError):
        lane.submit(lambda: 1 / 0)
    lane.close()


def test_drop_skips_the_calls_still_waiting() -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []
    lane = Lane(depth=8)
    lane.submit(lambda: (started.set(), release.wait(5), ran.append(1)))
    for i in range(2, 6):
        lane.submit(lambda i=i: ran.append(i))
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    lane.drop()
    lane.close()
    assert ran == [1]


def _blocked_lane(depth: int = 8) -> tuple[Lane, threading.Event, list[int]]:
    """A lane whose first call (recording 0) waits until the returned event is set."""
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []
    lane = Lane(depth=depth)
    lane.submit(lambda: (started.set(), release.wait(5), ran.append(0)))
    assert started.wait(5)
    return lane, release, ran


def test_drop_runs_the_last_kept_call_and_those_before_it_but_no_earlier_kept_one() -> None:
    """The last checkpoint given makes the earlier ones' rows durable too: a Ctrl-C waits for one save, not each."""
    lane, release, ran = _blocked_lane()
    cancelled: list[int] = []
    for i, kept in ((1, True), (2, False), (3, True), (4, False)):
        lane.submit(lambda i=i: ran.append(i), kept=kept)
    threading.Timer(0.2, release.set).start()
    lane.drop(cancel=lambda: cancelled.append(1))
    lane.close()
    assert ran == [0, 2, 3] and cancelled == []


def test_a_kept_call_not_reached_within_the_grace_is_given_up_and_the_call_in_hand_cancelled() -> None:
    """Found by a helper: on PostgreSQL a statement waiting on another session's lock held a Ctrl-C for as long as
    the lock lasted whenever a checkpoint was queued behind it, since a kept call turned the cancel off."""
    lane, release, ran = _blocked_lane()
    lane.submit(lambda: ran.append(1), kept=True)
    started = time.perf_counter()
    lane.drop(cancel=release.set, grace=0.3)
    lane.close()
    assert ran == [0] and 0.25 < time.perf_counter() - started < 3


def test_a_submit_interrupted_while_the_lane_is_full_leaves_nothing_behind() -> None:
    """Found by a helper: Ctrl-C in a submit waiting for a full queue left a kept count at 1, so a later drop ran every
    queued call and never cancelled the one in hand; counts are now read off the waiting calls themselves."""
    lane, release, ran = _blocked_lane(depth=1)
    lane.submit(lambda: ran.append(1), nbytes=10)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        lane.submit(lambda: ran.append(2), nbytes=10, kept=True)  # waits for room until the SIGINT
    cancelled: list[int] = []
    assert lane.drop(cancel=lambda: (cancelled.append(1), release.set())) is None
    lane.close()
    assert ran == [0] and cancelled == [1]


def test_a_second_interrupt_gives_the_kept_call_up_at_once() -> None:
    """Found by a helper: a second Ctrl-C during the grace cut the rollback short, and closing the lane then waited,
    without cancelling, for a statement held by another session's lock."""
    lane, release, ran = _blocked_lane()
    lane.submit(lambda: ran.append(1), kept=True)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.perf_counter()
    lost = lane.drop(cancel=release.set, grace=30)
    lane.close()
    assert isinstance(lost, TimeoutError) and "second interrupt" in str(lost)
    assert ran == [0] and time.perf_counter() - started < 3


def test_drop_tells_why_the_kept_call_was_not_made() -> None:
    lane, release, _ = _blocked_lane()
    lane.submit(lambda: None, kept=True)
    lost = lane.drop(cancel=release.set, grace=0.2)
    assert isinstance(lost, TimeoutError) and "given up 0.2 s after stopping" in str(lost)
    lane.close()
    lane, release, _ = _blocked_lane()
    lane.submit(lambda: 1 / 0, kept=True)
    release.set()
    assert isinstance(lane.drop(), ZeroDivisionError)
    lane.close()
    release = threading.Event()
    lane = Lane(depth=8)
    lane.submit(lambda: (release.wait(5), 1 / 0))  # fails once cancelled, as an interrupted statement does
    lane.submit(lambda: None)
    assert lane.drop(cancel=release.set) is None  # nothing kept: the cancel's own error is no lost checkpoint
    lane.close()


def test_calls_wait_while_the_arrays_queued_before_them_would_pass_the_bound() -> None:
    """A lane counts the bytes its waiting calls hold (a chunk's vectors): the caller waits for room instead of
    queueing chunk after chunk behind a slow checkpoint; one call larger than the bound still goes, alone."""
    release = threading.Event()
    ran: list[int] = []
    lane = Lane(depth=32, max_bytes=100)
    lane.submit(lambda: (release.wait(5), ran.append(0)))
    lane.submit(lambda: ran.append(1), nbytes=60)
    queued_third = threading.Event()
    third = threading.Thread(target=lambda: (lane.submit(lambda: ran.append(2), nbytes=60), queued_third.set()))
    third.start()
    assert not queued_third.wait(0.3), "60 + 60 bytes pass the bound of 100: the third call must wait"
    release.set()
    assert queued_third.wait(5)
    third.join()
    lane.submit(lambda: ran.append(3), nbytes=500)
    lane.flush()
    lane.close()
    assert ran == [0, 1, 2, 3]


def test_skipped_calls_give_their_room_back() -> None:
    """Calls a rollback drops still let go of their bytes: otherwise the next 80-byte call would wait forever."""
    started, release = threading.Event(), threading.Event()
    lane = Lane(depth=8, max_bytes=100)
    lane.submit(lambda: (started.set(), release.wait(5)))
    lane.submit(lambda: None, nbytes=80)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    lane.drop()
    done = threading.Event()
    later = threading.Thread(target=lambda: (lane.submit(lambda: None, nbytes=80), done.set()), daemon=True)
    later.start()
    assert done.wait(5)
    lane.close()


def test_rows_inserted_from_json_are_the_rows_executemany_inserts(tmp_path: Path) -> None:
    rows = [(1, 1, 7, 0, 0, 4), (2, 1, 8, 1, 5, 9), (2**62 - 1, 2**40, 2**31 - 1, 0, 0, 2**33)]
    found = []
    for name, insert in (("many", executemany_rows), ("json", json_insert_rows)):
        engine = create_engine(f"sqlite:///{tmp_path / name}.sqlite")
        metadata.create_all(engine)
        with engine.begin() as conn:
            insert(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"), rows)
            insert(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"), [])
        with engine.connect() as conn:
            found.append(conn.execute(select(occurrences).order_by(occurrences.c.id)).all())
            types = conn.exec_driver_sql("SELECT DISTINCT typeof(word_id), typeof(\"end\") FROM occurrences").all()
        engine.dispose()
        assert types == [("integer", "integer")]
    assert found[0] == found[1] == [tuple(r) for r in rows]


def _tables(index: SenseIndex) -> dict[str, list[tuple[object, ...]]]:
    with index.storage.meta.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
                for t in (documents, sentences, words, occurrences)}


def test_an_off_host_ingest_writes_the_rows_and_vectors_an_ingest_in_turn_writes(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch, db_url: str | None) -> None:
    """Checkpoints every 40 occurrences, so documents are cut by them and digests read rows back; the lane's rows,
    digests and vectors must be exactly those of the writer that runs its SQL in the caller (on PostgreSQL too,
    whose rows go by COPY)."""
    monkeypatch.setenv(CHECKPOINT_ENV, "40")
    found = []
    for on_host in (True, False):
        corpus = write_corpus(tmp_path / "corpus", 6, 25)
        encoder = ThreadRecordingEncoder(fake_settings, on_host)
        with SenseIndex.create(tmp_path / f"idx-{on_host}", settings=fake_settings, encoder=encoder,
                               db_url=db_url) as index:
            index.add([corpus])
            (corpus / "d002.txt").write_text("Sentence one of a new d002. It replaced the old one.\n")
            index.add([corpus])
            vectors = index.storage.vectors
            ids = np.sort(vectors.ids())
            found.append((_tables(index), ids, vectors.reconstruct(ids)))
    assert found[0][0] == found[1][0] and len(found[0][0]["occurrences"]) > 700
    assert np.array_equal(found[0][1], found[1][1]) and np.array_equal(found[0][2], found[1][2])


def test_a_database_error_on_the_lane_fails_the_session_and_leaves_the_disk_as_it_was(
        tmp_path: Path, fake_settings: EncoderSettings) -> None:
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    with storage.writer(background=True) as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        writer.checkpoint()
    assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    with pytest.raises(Exception, match="UNIQUE"), storage.writer(background=True) as writer:
        _write_document(writer, 2, 5, 3, "b", 1, True)  # word 1 again: its insert fails on the lane
        writer.checkpoint()
    assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    assert storage.vectors.ntotal == 4
    with storage.writer(background=True) as writer:
        assert writer.next_ids() == (2, 2, 5, 2)
    storage.close()


def test_an_off_host_checkpoint_is_made_on_the_lane_while_the_caller_goes_on(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: saving the vectors file at a checkpoint (0.4-0.7 s per checkpoint for both corpora) stopped the
    caller, so the model waited; off the caller it is the lane's, after the writes given before it."""
    saves: list[tuple[str, int]] = []
    original = VectorStore.save

    def slow_save(self: VectorStore, path: Path) -> None:
        time.sleep(0.5)
        saves.append((threading.current_thread().name, self.ntotal))
        original(self, path)

    monkeypatch.setattr(VectorStore, "save", slow_save)
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    saves.clear()
    with storage.writer(background=True) as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        started = time.perf_counter()
        writer.checkpoint()
        _write_document(writer, 2, 5, 3, "b", 1, False)
        assert time.perf_counter() - started < 0.3, "the caller waited for the save"
        assert writer.ntotal == 7  # counted as given, whether or not the lane has added them yet
        writer.lane.flush()
        assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4]), "the second document's rows or vectors leaked"
        writer.checkpoint(last=True)
    assert saves == [("sensesearch-sql", 4), ("MainThread", 7)]
    assert _agree(tmp_path, config) == ([1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7])
    storage.close()


def _interrupt_after_a_checkpoint(storage: OccurrenceStore, interrupted: threading.Event | None = None) -> None:
    """On an off-host writer: document a (occurrences 1-4), a checkpoint, document b (5-7), then a Ctrl-C
    (`interrupted` is set as it is raised)."""
    with pytest.raises(KeyboardInterrupt), storage.writer(background=True) as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        writer.checkpoint()
        _write_document(writer, 2, 5, 3, "b", 1, False)
        if interrupted is not None:
            interrupted.set()
        raise KeyboardInterrupt


def test_a_session_stopped_after_a_checkpoint_still_makes_it(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the Ray resume test: a Ctrl-C (or an encoder failure) right after an off-host checkpoint dropped it
    while it waited on the lane, losing work the caller had been told was on its way to disk."""
    original = VectorStore.save

    def slow_save(self: VectorStore, path: Path) -> None:
        time.sleep(0.3)
        original(self, path)

    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    monkeypatch.setattr(VectorStore, "save", slow_save)
    _interrupt_after_a_checkpoint(storage)
    assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    assert sorted(storage.vectors.ids().tolist()) == [1, 2, 3, 4]
    storage.close()


def test_a_checkpoint_that_fails_on_the_lane_fails_the_session_and_leaves_the_last_one_on_disk(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    original = VectorStore.save
    calls: list[int] = []

    def failing_save(self: VectorStore, path: Path) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise SenseSearchError(f"cannot save {path} (No space left on device); the previous vectors file is unchanged")
        original(self, path)

    monkeypatch.setattr(VectorStore, "save", failing_save)
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    calls.clear()
    with pytest.raises(SenseSearchError, match="No space left"), storage.writer(background=True) as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        writer.checkpoint()
        _write_document(writer, 2, 5, 3, "b", 1, False)
        writer.checkpoint()  # its save fails on the lane
        writer.lane.wait()
        _write_document(writer, 3, 8, 2, "c", 1, False)  # raises the lane's error
    assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    assert sorted(storage.vectors.ids().tolist()) == [1, 2, 3, 4]  # the rollback dropped what was not committed
    storage.close()


def test_a_checkpoint_failing_while_the_session_stops_for_another_reason_is_reported(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Found by a helper: a Ctrl-C after a checkpoint whose save then failed on the lane (a full disk) said only
    "Interrupted.": the checkpoint the caller was told of silently never happened."""

    interrupted = threading.Event()

    def full_disk(self: VectorStore, path: Path) -> None:
        # Fails once the Ctrl-C is on its way: failing sooner (CI, a loaded machine) made adding document b raise
        # the lane's error itself, a different story from the one this test tells.
        interrupted.wait(10)
        raise SenseSearchError(f"cannot save {path} (No space left on device); the previous vectors file is unchanged")

    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    monkeypatch.setattr(VectorStore, "save", full_disk)
    _interrupt_after_a_checkpoint(storage, interrupted)
    assert "the last checkpoint given before stopping was not made" in caplog.text
    assert "No space left on device" in caplog.text
    assert _agree(tmp_path, config) == ([], [])
    storage.close()


def test_a_statement_cancelled_by_a_ctrl_c_with_no_checkpoint_given_is_no_lost_checkpoint(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Found by a helper: the drop's own cancel of a long statement was then reported as a lost checkpoint."""
    original = MetaStore.insert_rows

    def long_statement(self: MetaStore, conn: Any, table: object, *args: object, **kwargs: object) -> None:
        conn.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) "
                          "SELECT count(*) FROM c"))
        original(self, conn, table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MetaStore, "insert_rows", long_statement)
    storage = OccurrenceStore.create(tmp_path, _config(fake_settings))
    with pytest.raises(KeyboardInterrupt), storage.writer(background=True) as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        time.sleep(0.3)  # the lane is inside the long statement
        raised = time.perf_counter()
        raise KeyboardInterrupt
    assert time.perf_counter() - raised < 3, "the statement in hand was not cancelled"
    assert "checkpoint" not in caplog.text
    storage.close()


def test_a_failure_drops_the_statements_still_queued_instead_of_running_them(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a helper: leaving a failed session first ran every queued statement (up to 32), then rolled them all
    back, so Ctrl-C took seconds to stop an off-host ingest on a slow database."""
    inserted: list[int] = []
    original = MetaStore.insert_rows

    def slow(self: MetaStore, conn: object, table: object, *args: object, **kwargs: object) -> None:
        if table is occurrences:
            time.sleep(0.2)
            inserted.append(1)
        original(self, conn, table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MetaStore, "insert_rows", slow)
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    with pytest.raises(KeyboardInterrupt), storage.writer(background=True) as writer:
        # Ten documents queue 20 calls, below the lane's depth, so the caller never waits for the slow inserts.
        for doc in range(10):
            _write_document(writer, doc + 1, 1 + 10 * doc, 3, f"d{doc}", 1, doc == 0)
        ran_before, raised = len(inserted), time.perf_counter()
        raise KeyboardInterrupt
    # Counted from the raise, not from the start: on a slow machine the lane runs some inserts while the caller queues.
    assert ran_before <= 6, "the test needs queued inserts left when it raises"
    assert len(inserted) - ran_before <= 1, "at most the insert already running finishes"
    assert time.perf_counter() - raised < 1.5  # the ten queued inserts alone would take 2 s
    assert _agree(tmp_path, config) == ([], []) and storage.vectors.ntotal == 0
    storage.close()


@pytest.mark.parametrize("checkpoint_queued", [False, True], ids=["rows only", "a checkpoint queued behind them"])
def test_a_rollback_cancels_a_statement_waiting_for_another_sessions_lock(
        tmp_path: Path, fake_settings: EncoderSettings, pg_url: str, checkpoint_queued: bool) -> None:
    """Found by a helper: on PostgreSQL, Ctrl-C during an off-host ingest waited for as long as another session held a
    lock the lane's statement was waiting for; in the calling thread psycopg cancels it, on the lane nothing did.
    The locking session ends itself after 20 s idle, so without the cancel this fails instead of hanging."""
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=pg_url) as index:
        schema = index.storage.meta.schema
        writer = index.storage.writer(background=True)
        other = create_engine(engine_url(pg_url))
        with other.connect() as locker:
            locker.execute(text("SET idle_in_transaction_session_timeout = '20s'"))
            # EXCLUSIVE: reads go on (the writer's own id lookups), inserts wait.
            locker.execute(text(f'LOCK TABLE "{schema}".occurrences IN EXCLUSIVE MODE'))
            started = time.perf_counter()
            with pytest.raises(KeyboardInterrupt), writer:
                _write_document(writer, 1, 1, 3, "a", 1, True)
                if checkpoint_queued:
                    writer.checkpoint()  # waits on the lane behind the locked insert: given up after the grace
                time.sleep(0.5)  # the lane is now waiting for the lock
                raise KeyboardInterrupt
            waited = time.perf_counter() - started
            with suppress(SQLAlchemyError):
                locker.rollback()
        other.dispose()
        assert waited < 10, waited
        assert index.info().occurrences == 0
