"""Group commit: concurrent intake shares transactions, yet each row's outcome is its own."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from service.inbox.group_commit import GroupCommit, _WriterTurns
from service.runtime import runtime
from service.storage.engine import make_engine
from service.storage.models import Delivery
from tests.conftest import build_app, make_settings


def row(delivery_id: str) -> dict:
    now = datetime.now(UTC)
    return {
        "source": "github",
        "delivery_id": delivery_id,
        "event": "issues",
        "action": "opened",
        "headers": {},
        "body": b"{}",
        "body_sha256": "0" * 64,
        "status": "pending",
        "attempts": 0,
        "error": None,
        "permanent": False,
        "received_at": now,
        "next_attempt_at": now,
        "processed_at": None,
    }


def test_concurrent_rows_and_duplicates_each_get_their_outcome(any_app) -> None:
    writer = GroupCommit(runtime(any_app).engine)
    wanted = [str(uuid.uuid4()) for _ in range(20)] + ["twice"] * 5
    outcomes: dict[int, int | None] = {}
    barrier = threading.Barrier(len(wanted))

    def send(index: int, delivery_id: str) -> None:
        barrier.wait()
        outcomes[index] = writer.insert(row(delivery_id))

    threads = [threading.Thread(target=send, args=item) for item in enumerate(wanted)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    new_ids = [value for value in outcomes.values() if value is not None]
    assert len(new_ids) == 21 and len(set(new_ids)) == 21  # 20 distinct + the first of the five copies
    assert sum(1 for value in outcomes.values() if value is None) == 4
    with runtime(any_app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 21


@pytest.mark.parametrize("poison", [{"event": "issues\ud800"}, {"error": "a\x00b"}, {"delivery_id": "d" * 250}])
def test_a_row_the_database_cannot_take_fails_alone_and_releases_the_write_lock(any_app, poison) -> None:
    """Intake refuses such rows before they get here; if one still did, it must not fail its batch or hang intake.

    The lone surrogate cannot be encoded by the driver (on SQLite it once left BEGIN IMMEDIATE open, so every later
    writer waited); PostgreSQL refuses NUL and the over-long id (SQLite stores both: it has no such limits).
    """
    engine = runtime(any_app).engine
    writer = GroupCommit(engine)
    wanted = [row(f"ok-{n}") for n in range(15)]
    wanted.insert(7, row("poisoned") | poison)
    outcomes: dict[int, object] = {}
    barrier = threading.Barrier(len(wanted))

    def send(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = writer.insert(wanted[index])
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(wanted))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    poisoned = outcomes.pop(7)
    sqlite_takes_it = engine.dialect.name == "sqlite" and "event" not in poison
    assert isinstance(poisoned, int) if sqlite_takes_it else isinstance(poisoned, Exception)
    assert all(isinstance(value, int) for value in outcomes.values()), outcomes
    # Another writer (another web process, or the worker) gets the write lock at once.
    with engine.connect() as other:
        other.exec_driver_sql("SELECT 1")
        if engine.dialect.name == "sqlite":
            other.exec_driver_sql("PRAGMA busy_timeout=1000")
        started = time.monotonic()
        other.execute(update(Delivery).where(Delivery.delivery_id == "ok-0").values(attempts=1))
        other.commit()
        assert time.monotonic() - started < 1
    assert writer.insert(row("next")) is not None
    with runtime(any_app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 16 + sqlite_takes_it


def test_a_database_error_reaches_every_waiting_request(tmp_path) -> None:
    engine = make_engine(make_settings(tmp_path, "postgresql://postgres@127.0.0.1:1/none"))
    with pytest.raises(OperationalError):
        GroupCommit(engine).insert(row("x"))


def test_every_column_reads_back_as_the_orm_wrote_it(any_app) -> None:
    """The batch goes to the driver directly; what it stores must be what SQLAlchemy itself would have stored."""
    sent = row("columns") | {
        "headers": {"x-github-event": "issues", "user-agent": "GitHub-Hookshot/ä"},
        "body": b'{"zen": "\xc3\xa4"}\x00',
        "error": "ignored: ping",
    }
    new_id = GroupCommit(runtime(any_app).engine).insert(sent)
    with runtime(any_app).transaction() as session:
        stored = session.get(Delivery, new_id)
        for key, value in sent.items():
            assert getattr(stored, key) == value, key


@pytest.mark.postgres
def test_a_killed_writer_connection_is_replaced_without_losing_the_delivery(tmp_path, postgres_url) -> None:
    from sqlalchemy import text

    app = build_app(make_settings(tmp_path, postgres_url))
    writer = GroupCommit(runtime(app).engine)
    assert writer.insert(row("before")) is not None
    assert writer.conn is not None
    pid = writer.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    writer.conn.commit()
    with runtime(app).engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})  # e.g. the database restarted
    assert writer.insert(row("after")) is not None
    with runtime(app).transaction() as session:
        assert set(session.scalars(select(Delivery.delivery_id))) == {"before", "after"}
    runtime(app).engine.dispose()


def test_the_writing_passes_on_after_each_batch_so_no_request_writes_for_others_twice(tmp_path) -> None:
    """Each batch is written by a different request: a leader answers after its own batch, it does not keep
    writing the batches queued behind it while its tracker waits."""
    app = build_app(make_settings(tmp_path))
    writers: list[str] = []

    class SlowDisk(GroupCommit):
        def _write(self, batch) -> None:  # type: ignore[no-untyped-def]
            writers.append(threading.current_thread().name)
            time.sleep(0.02)  # a slow fsync: later requests queue up meanwhile
            super()._write(batch)

    writer = SlowDisk(runtime(app).engine)
    threads = [
        threading.Thread(target=writer.insert, args=(row(f"d{index}"),), name=f"request-{index}") for index in range(30)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.002)  # arrivals spread over the writes
    for thread in threads:
        thread.join()
    assert len(writers) > 2  # several batches, so the writing did pass on
    assert len(writers) == len(set(writers)), writers
    with runtime(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 30


def test_sqlite_leaders_of_several_processes_take_turns_on_one_file_lock(tmp_path) -> None:
    """A second open of the lock file stands for another web process: while it holds the turn, nothing is
    written here; the moment it lets go, the waiting batch is written."""
    app = build_app(make_settings(tmp_path))
    engine = runtime(app).engine
    other_process = _WriterTurns.for_engine(engine)
    assert other_process.path == f"{engine.url.database}-intake.lock"
    result: list[int | None] = []
    with other_process:
        waiting = threading.Thread(target=lambda: result.append(GroupCommit(engine).insert(row("queued"))))
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and not result
    waiting.join(timeout=10)
    assert result and result[0] is not None


def test_only_sqlite_files_need_turns(tmp_path) -> None:
    assert _WriterTurns.for_engine(make_engine(make_settings(tmp_path, "sqlite://"))).path is None
    postgres = make_engine(make_settings(tmp_path, "postgresql://postgres@127.0.0.1:1/none"))
    assert _WriterTurns.for_engine(postgres).path is None


def test_a_turn_that_cannot_be_taken_fails_its_requests_instead_of_hanging_the_next(tmp_path) -> None:
    app = build_app(make_settings(tmp_path))
    writer = GroupCommit(runtime(app).engine)
    writer.turns = _WriterTurns(str(tmp_path / "gone" / "intake.lock"))  # its folder was removed, say
    outcomes: list[BaseException] = []

    def send(delivery_id: str) -> None:
        try:
            writer.insert(row(delivery_id))
        except OSError as exc:
            outcomes.append(exc)

    for delivery_id in ("first", "second"):
        thread = threading.Thread(target=send, args=(delivery_id,))
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert len(outcomes) == 2 and all(isinstance(exc, FileNotFoundError) for exc in outcomes)
