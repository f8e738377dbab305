"""Group commit: concurrent intake shares transactions, yet each row's outcome is its own."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from service.inbox.group_commit import GroupCommit
from service.runtime import runtime
from service.storage.engine import make_engine
from service.storage.models import Delivery
from tests.conftest import make_settings


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

    from tests.conftest import build_app

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
