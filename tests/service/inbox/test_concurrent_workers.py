"""Four real `pvm worker` processes on PostgreSQL drain a burst for many tickets: none fails, each ticket in order.

Processes rather than threads: the defect showed with separate `pvm worker` processes, each with its own engine and
connections, running truly in parallel on several CPUs; threads of one process take turns on the GIL, which makes
the races this test is about rarer, and they would not run the worker's real start-up and signal handling.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.runtime import Runtime, runtime
from service.storage.models import Delivery, Iteration, Label, Ticket, ValueLogEntry
from tests import deliveries
from tests.conftest import build_app, make_settings
from tests.processes import OUTSIDE, process_env, stop
from tests.service.inbox import burst

WORKERS = 4
TICKETS = range(1, 81)  # 400 deliveries: about 30 s in all on 2 CPUs
DEADLINE = 120.0  # only a broken queue comes near it
UNFINISHED = {"pending", "processing"}


def _statuses(rt: Runtime) -> Counter[str]:
    with rt.transaction() as session:
        rows = session.execute(
            select(Delivery.status, Delivery.permanent, func.count()).group_by(Delivery.status, Delivery.permanent)
        )
        return Counter({f"{status}{' (permanent)' if permanent else ''}": count for status, permanent, count in rows})


def _wait_until_drained(rt: Runtime, workers: list[subprocess.Popen[str]], logs: list[Path]) -> Counter[str]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        statuses = _statuses(rt)
        # A failure waits 15 s or more for its retry: report it now rather than wait for it.
        if not set(statuses) & UNFINISHED or set(statuses) - {*UNFINISHED, "processed"}:
            return statuses
        assert all(worker.poll() is None for worker in workers), [log.read_text()[-2000:] for log in logs]
        time.sleep(0.5)
    return _statuses(rt)


@pytest.mark.postgres
def test_four_workers_drain_a_burst_without_failures_each_ticket_in_order(tmp_path: Path, postgres_url: str) -> None:
    app = build_app(make_settings(tmp_path, postgres_url))
    rt = runtime(app)
    client = app.test_client()
    received: dict[int, list[int]] = {number: [] for number in TICKETS}
    for number, payload in burst.interleaved(TICKETS):
        response = deliveries.github(client, "issues", payload)
        assert response.status_code == 202, response.json
        received[number].append(response.json["id"])

    env = process_env(tmp_path, DATABASE_URL=postgres_url, PVM_ENV="test")
    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
    workers = []
    for log in logs:
        with log.open("w") as stderr:  # a file, not a pipe: a pipe nobody reads would block a busy worker
            command = ["pvm", "worker"]
            workers.append(
                subprocess.Popen(command, env=env, stderr=stderr, text=True, start_new_session=True, cwd=OUTSIDE)
            )
    try:
        statuses = _wait_until_drained(rt, workers, logs)
    finally:
        for worker in workers:
            code, _ = stop(worker, signal.SIGTERM)
            assert code == 0
    worker_logs = "".join(log.read_text() for log in logs)

    with rt.transaction() as session:
        failed = session.execute(
            select(Delivery.id, Delivery.status, Delivery.error).where(Delivery.error.is_not(None))
        ).all()
        assert statuses == Counter({"processed": 5 * len(TICKETS)}), (statuses, failed[:5])
        # None was retried either: no delivery met another worker's insert, nor had to wait for a second try.
        assert session.scalar(select(func.max(Delivery.attempts))) == 1
        assert "UniqueViolation" not in worker_logs and "IntegrityError" not in worker_logs
        # Every worker took part, so the subjects really were shared out between them.
        assert all(re.search(r"delivery \S+: \d+ events", log.read_text()) for log in logs)

        entries = session.scalars(select(ValueLogEntry).order_by(ValueLogEntry.seq)).all()
        by_subject: dict[str, list[ValueLogEntry]] = {}
        for entry in entries:
            by_subject.setdefault(entry.subject, []).append(entry)
        # One sprint, joined by every ticket from four workers at once: created and started exactly once.
        (sprint,) = session.scalars(select(Iteration)).all()
        assert [e.kind for e in by_subject[sprint.key]] == ["iteration.created", "iteration.started"]
        for number in TICKETS:
            key = burst.key(number)
            ticket = session.get(Ticket, key)
            assert ticket is not None
            assert (ticket.title, ticket.state) == (f"Ticket {number}, edited", "closed")
            labels = session.scalars(select(Label.name).where(Label.ticket_key == key)).all()
            assert sorted(labels) == sorted(burst.EXPECTED_LABELS)
            # In order of receipt: applied out of order, a step would be older than the state and leave no entry.
            logged = [e for e in by_subject[key] if e.kind != "rule.fired"]
            assert [e.kind for e in logged] == burst.EXPECTED_KINDS, (key, received[number])
            added = [e.data["label"] for e in logged if e.kind == "label.added"]
            assert added == burst.EXPECTED_LABELS
            stamps = [e.data["occurred_at"] for e in logged]
            assert stamps == sorted(stamps)
    rt.engine.dispose()
