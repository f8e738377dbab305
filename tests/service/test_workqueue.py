"""The work queue both the inbox and the outbox use: leases, expiry, backoff with jitter, dead rows, locked rows."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from service.inbox import processing
from service.outbox import dispatch
from service.runtime import Runtime, runtime
from service.storage.models import Delivery, OutboxItem
from service.workqueue import Backoff, WorkQueue
from tests.conftest import build_app, make_settings

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
QUEUES: dict[str, WorkQueue[Any]] = {"inbox": processing.QUEUE, "outbox": dispatch.QUEUE}


def _delivery(key: str | None = None) -> Delivery:
    return Delivery(
        source="github",
        delivery_id=str(uuid.uuid4()),
        event="issues",
        headers={},
        body=b"{}",
        body_sha256="0" * 64,
        partition_key=key,
        received_at=NOW,
        next_attempt_at=NOW,
    )


def _outbox_item() -> OutboxItem:
    return OutboxItem(
        tracker="github", action="comment", target="github:acme/portal#1", body={"text": "hi"}, next_attempt_at=NOW
    )


MAKE: dict[str, Callable[[], Any]] = {"inbox": _delivery, "outbox": _outbox_item}


@pytest.fixture(params=sorted(QUEUES))
def table(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _add(rt: Runtime, table: str, count: int = 1) -> list[int]:
    with rt.transaction() as session:
        rows = [MAKE[table]() for _ in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _due(rt: Runtime, table: str, now: datetime) -> list[int]:
    with rt.transaction() as session:
        return [row.id for row in QUEUES[table].select_due(session, now, limit=10)]


def _take(rt: Runtime, table: str, now: datetime) -> datetime | None:
    with rt.transaction() as session:
        (row,) = QUEUES[table].select_due(session, now, limit=1)
        return QUEUES[table].take(row, now)


def _get(rt: Runtime, table: str, row_id: int) -> Any:
    model = QUEUES[table].model
    with rt.transaction() as session:
        row = session.get(model, row_id)
        session.expunge(row)
        return row


@pytest.mark.parametrize("attempts", [0, 1, 2, 3, 5, 8, 12, 10_000])
def test_backoff_doubles_per_try_within_jitter_bounds_and_a_cap(attempts: int) -> None:
    backoff = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=2))
    doubled = timedelta(seconds=30) * 2 ** max(0, attempts - 1) if attempts < 20 else timedelta.max
    nominal = min(timedelta(hours=2), doubled)
    delays = [backoff.delay(attempts, random.Random(seed)) for seed in range(200)]
    assert all(nominal / 2 <= delay <= nominal for delay in delays)
    # Rows that failed together come back spread over the whole range, not at one instant.
    assert len(set(delays)) > 190
    assert min(delays) < nominal * 0.55 and max(delays) > nominal * 0.95


def test_both_tables_back_off_with_jitter_the_outbox_capped_sooner() -> None:
    assert processing.QUEUE.backoff.cap == timedelta(hours=2)
    assert dispatch.QUEUE.backoff.cap == timedelta(hours=1)
    assert processing.QUEUE.max_attempts == dispatch.QUEUE.max_attempts == 8
    assert (processing.QUEUE.leased, dispatch.QUEUE.leased) == ("processing", "sending")


def test_a_due_row_is_leased_to_one_worker_until_the_lease_expires(rt: Runtime, table: str) -> None:
    queue = QUEUES[table]
    (row_id,) = _add(rt, table)
    assert _due(rt, table, NOW - timedelta(seconds=1)) == []  # not due before its time
    lease_until = _take(rt, table, NOW)
    assert lease_until == NOW + queue.lease
    row = _get(rt, table, row_id)
    assert (row.status, row.attempts, row.lease_until) == (queue.leased, 1, lease_until)
    assert _due(rt, table, NOW + queue.lease - timedelta(seconds=1)) == []  # held: nobody else gets it
    # The worker died: once the lease has passed, the row is due again and the next try is counted.
    assert _due(rt, table, NOW + queue.lease + timedelta(seconds=1)) == [row_id]
    again = _take(rt, table, NOW + queue.lease + timedelta(seconds=1))
    assert _get(rt, table, row_id).attempts == 2
    with rt.transaction() as session:
        row = session.get(queue.model, row_id)
        assert queue.holds(row, again) and not queue.holds(row, lease_until)  # the first worker lost it


def test_failed_tries_back_off_with_jitter_then_the_row_is_dead(rt: Runtime, table: str) -> None:
    queue = QUEUES[table]
    (row_id,) = _add(rt, table)
    now, rng = NOW, random.Random(5)
    for attempt in range(1, queue.max_attempts + 1):
        _take(rt, table, now)
        with rt.transaction() as session:
            row = session.get(queue.model, row_id)
            status = queue.fail(row, now, f"try {attempt} failed", rng)
            wait = row.next_attempt_at - now
        if attempt < queue.max_attempts:
            assert status == "failed"
            nominal = queue.backoff.ceiling(attempt)
            assert nominal / 2 <= wait <= nominal
            assert _due(rt, table, now + wait - timedelta(microseconds=1)) == []
            now += wait
        else:
            assert status == "dead"
    row = _get(rt, table, row_id)
    assert (row.status, row.attempts, row.error, row.lease_until) == ("dead", queue.max_attempts, "try 8 failed", None)
    assert _due(rt, table, now + timedelta(days=30)) == []


def test_the_other_sides_time_wins_over_the_backoff(rt: Runtime, table: str) -> None:
    queue = QUEUES[table]
    (row_id,) = _add(rt, table)
    _take(rt, table, NOW)
    with rt.transaction() as session:
        row = session.get(queue.model, row_id)
        queue.fail(row, NOW, "429", random.Random(1), not_before=NOW + timedelta(seconds=7))
    assert _get(rt, table, row_id).next_attempt_at == NOW + timedelta(seconds=7)


def test_a_lease_that_expires_on_the_last_try_makes_the_row_dead(rt: Runtime, table: str) -> None:
    queue = QUEUES[table]
    (row_id,) = _add(rt, table)
    with rt.transaction() as session:
        row = session.get(queue.model, row_id)
        row.status, row.attempts, row.error = queue.leased, queue.max_attempts, "MemoryError"
        row.lease_until = NOW - timedelta(seconds=1)
    assert _take(rt, table, NOW) is None
    row = _get(rt, table, row_id)
    assert row.status == "dead" and row.error == "lease expired on all 8 attempts; last error: MemoryError"
    assert _due(rt, table, NOW + timedelta(days=1)) == []


def test_a_row_put_back_is_due_again_without_using_a_try(rt: Runtime, table: str) -> None:
    queue = QUEUES[table]
    (row_id,) = _add(rt, table)
    _take(rt, table, NOW)
    with rt.transaction() as session:
        queue.put_back(session.get(queue.model, row_id))
    row = _get(rt, table, row_id)
    assert (row.status, row.attempts, row.lease_until) == ("pending", 0, None)
    assert _due(rt, table, NOW) == [row_id]


def test_rows_due_oldest_first(rt: Runtime, table: str) -> None:
    ids = _add(rt, table, 3)
    assert _due(rt, table, NOW) == ids


@pytest.mark.postgres
def test_workers_skip_the_rows_another_holds_instead_of_waiting(tmp_path, postgres_url: str, table: str) -> None:
    app = build_app(make_settings(tmp_path, postgres_url))
    rt = runtime(app)
    first, second = _add(rt, table, 2)
    queue = QUEUES[table]
    with rt.transaction() as holder:
        assert [row.id for row in queue.select_due(holder, NOW, limit=1)] == [first]  # locked until commit
        found: list[int] = []
        other = threading.Thread(target=lambda: found.extend(_due(rt, table, NOW)))
        other.start()
        other.join(timeout=10)
        assert not other.is_alive() and found == [second]
    rt.engine.dispose()


def _claim_plan(session: Session) -> str:
    """The plan the database chose for the inbox's claim, as it runs it (same statement, same parameters)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "EXISTS" in statement:
            captured.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        processing.QUEUE.select_due(session, NOW, limit=20)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = captured
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if engine.dialect.name == "postgresql":
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask whether the index can be used at all
        cursor.execute("EXPLAIN " + statement, parameters)
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(str(line) for line in cursor.fetchall())


def test_the_order_check_looks_only_at_unfinished_deliveries_through_their_index(any_app: Flask) -> None:
    """Finished deliveries, nearly all of them, never slow the claim: the partial index holds only the rest."""
    with runtime(any_app).transaction() as session:
        session.add_all([_delivery("github:acme/portal#1"), _delivery("github:acme/portal#1")])
        session.flush()
        assert "ix_deliveries_unfinished_partition_key" in _claim_plan(session)


def test_statuses_named_as_constants_match_the_index(rt: Runtime) -> None:
    """The claim names the unfinished statuses as the partial index does, or the planners could not use it."""
    with rt.engine.connect() as conn:
        (definition,) = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_deliveries_unfinished_partition_key'")
        ).scalars()
    listed = ", ".join(f"'{status}'" for status in processing.QUEUE.unfinished)
    assert f"status IN ({listed})" in definition
