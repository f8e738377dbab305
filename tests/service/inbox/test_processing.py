"""The worker's side of the inbox: leases, retries with backoff, dead letters, poison isolation, replay."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from service import inbox
from service.domain.kinds import Kind
from service.inbox import processing
from service.runtime import runtime
from service.storage.models import Delivery, Ticket, ValueLogEntry
from service.worker import default_drains
from tests import deliveries
from tests.helpers import run_cli


def rows(app) -> dict[str, Delivery]:
    with runtime(app).transaction() as session:
        return {row.delivery_id: row for row in session.scalars(select(Delivery))}


def poison(app, delivery_id: str) -> None:
    """A stored delivery whose body the integration cannot read (as if a bug or a bad row got in)."""
    with runtime(app).transaction() as session:
        session.execute(
            update(Delivery).where(Delivery.delivery_id == delivery_id).values(body=b'{"action": "opened", "issue": 7}')
        )


@pytest.fixture
def database_hiccup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery fails as if the database dropped the connection mid-way: retrying may help."""

    def fail(*_args: object, **_kwargs: object) -> list:
        raise OperationalError("UPDATE tickets ...", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(processing.pipeline, "handle", fail)


def test_inbox_drain_is_registered_with_the_worker() -> None:
    assert inbox.process_due in default_drains()


def test_poison_delivery_fails_permanently_is_logged_and_does_not_block_others(any_app) -> None:
    client = any_app.test_client()
    deliveries.github(client, "issues", deliveries.fixture("github", "issues__opened_epic"), delivery="bad")
    deliveries.github(client, "issues", deliveries.fixture("github", "issues__opened"), delivery="good")
    poison(any_app, "bad")
    assert inbox.process_due(runtime(any_app)) == 2
    found = rows(any_app)
    assert found["good"].status == "processed"
    bad = found["bad"]
    assert (bad.status, bad.attempts, bad.permanent) == ("failed", 1, True)
    assert (bad.error or "").startswith("permanent: ") and "$.issue should be an object" in (bad.error or "")
    # The same input fails the same way every time: it is not retried, not even days later ...
    assert processing.claim(runtime(any_app), now=datetime.now(UTC) + timedelta(days=3)) == []
    with runtime(any_app).transaction() as session:
        assert session.get(Ticket, "github:city-council/permits#35") is not None
        (entry,) = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == Kind.DELIVERY_FAILED))
        assert entry.subject == f"delivery:{bad.id}" and entry.data["delivery_id"] == "bad"
    # ... until someone replays it after a fix.
    processing.replay(runtime(any_app), "bad")
    assert (rows(any_app)["bad"].status, rows(any_app)["bad"].permanent) == ("pending", False)


def test_retries_back_off_with_jitter_then_dead_after_last_try(app, database_hiccup) -> None:
    deliveries.github(app.test_client(), "issues", deliveries.fixture("github", "issues__opened"), delivery="p")
    rt = runtime(app)
    now = datetime.now(UTC)
    for attempt in range(1, processing.MAX_ATTEMPTS + 1):
        (claimed,) = processing.claim(rt, now=now)
        before = datetime.now(UTC)
        assert processing.process(rt, claimed) == ("dead" if attempt == processing.MAX_ATTEMPTS else "failed")
        row = rows(app)["p"]
        assert row.attempts == attempt
        if row.status == "failed":
            # 30 s, 1 min, 2 min ... each cut by up to half at random, so deliveries that failed together spread out.
            nominal = timedelta(seconds=30) * 2 ** (attempt - 1)
            assert before + nominal / 2 <= row.next_attempt_at <= datetime.now(UTC) + nominal
            assert processing.claim(rt, now=now) == []  # not due before its backoff
            now = row.next_attempt_at + timedelta(seconds=1)
    assert rows(app)["p"].status == "dead"
    assert processing.claim(rt, now=now + timedelta(days=1)) == []


def test_killed_worker_lease_expires_and_delivery_is_picked_up_again(any_app) -> None:
    deliveries.jira(any_app.test_client(), deliveries.fixture("jira", "issue_created__story"), delivery="k")
    rt = runtime(any_app)
    (first,) = processing.claim(rt)  # the worker claims it ... and is killed before processing
    assert rows(any_app)["k"].status == "processing"
    assert processing.claim(rt) == []  # still leased: nobody else takes it
    (again,) = processing.claim(rt, now=datetime.now(UTC) + processing.LEASE + timedelta(seconds=1))
    assert again.id == first.id and rows(any_app)["k"].attempts == 2
    assert processing.process(rt, first) == "lost"  # the old worker, had it survived, would not apply it twice
    assert processing.process(rt, again) == "processed"


def test_expired_leases_stop_after_the_last_attempt(app) -> None:
    deliveries.github(app.test_client(), "ping", deliveries.fixture("github", "ping__repository"), delivery="oom")
    with runtime(app).transaction() as session:
        session.execute(update(Delivery).values(attempts=processing.MAX_ATTEMPTS))
    rt = runtime(app)
    processing.claim(rt)
    assert processing.claim(rt, now=datetime.now(UTC) + processing.LEASE * 2) == []
    assert rows(app)["oom"].status == "dead" and "lease expired" in (rows(app)["oom"].error or "")


def test_concurrent_workers_claim_each_delivery_once(any_app) -> None:
    client = any_app.test_client()
    for number in range(30):
        payload = deliveries.fixture("github", "issues__opened")
        payload["issue"]["number"] = 100 + number
        deliveries.github(client, "issues", payload, delivery=f"c-{number}")
    rt = runtime(any_app)
    claimed: list[int] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        while batch := processing.claim(rt, limit=3):
            claimed.extend(item.id for item in batch)
            for item in batch:
                processing.process(rt, item)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 30
    assert {row.status for row in rows(any_app).values()} == {"processed"}


def test_replay_queues_a_delivery_again(tmp_path, any_app) -> None:
    deliveries.github(any_app.test_client(), "issues", deliveries.fixture("github", "issues__opened"), delivery="r1")
    deliveries.drain(any_app)
    settings = runtime(any_app).settings
    result = run_cli(["replay", "r1"], settings.database_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "r1" in result.output and "queued again" in result.output
    row = rows(any_app)["r1"]
    assert (row.status, row.attempts, row.error) == ("pending", 0, None)
    deliveries.drain(any_app)
    assert rows(any_app)["r1"].status == "processed"


def test_replay_of_unknown_id_fails_with_a_reason(tmp_path, app) -> None:
    result = run_cli(["replay", "no-such"], runtime(app).settings.database_url, tmp_path)
    assert result.exit_code == 1
    assert "no delivery with id 'no-such'" in result.output


def test_replay_by_inbox_id(app) -> None:
    response = deliveries.github(app.test_client(), "ping", deliveries.fixture("github", "ping__repository"))
    deliveries.drain(app)
    row = inbox.replay(runtime(app), str(response.json["id"]))
    assert row.status == "pending" and json.loads(row.body)["zen"]
