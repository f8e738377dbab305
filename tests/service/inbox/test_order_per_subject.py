"""The deliveries of one subject go to one worker at a time, in order of receipt; other subjects are not held up."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from service.inbox import processing
from service.runtime import runtime
from service.storage.models import Delivery, ValueLogEntry
from tests import deliveries
from tests.service.inbox import burst

A, B = 1, 2


def _send(app: Flask, number: int, step: int) -> int:
    """One of ticket `number`'s deliveries (0 opened, 1 and 2 labeled, 3 edited, 4 closed); its inbox id."""
    response = deliveries.github(app.test_client(), "issues", burst.ticket_deliveries(number)[step])
    assert response.status_code == 202, response.json
    return int(response.json["id"])


def _claimed(app: Flask, now: datetime | None = None) -> list[int]:
    return [item.id for item in processing.claim(runtime(app), now=now)]


def _status(app: Flask, inbox_id: int) -> str:
    with runtime(app).transaction() as session:
        row = session.get(Delivery, inbox_id)
        assert row is not None
        return row.status


def _process_claimed(app: Flask) -> dict[int, str]:
    """One worker's pass: claim what is due and process it; the new status of each delivery it took."""
    return {item.id: processing.process(runtime(app), item) for item in processing.claim(runtime(app))}


@pytest.mark.parametrize(
    ("event", "fixture", "key"),
    [
        ("issues", "issues__labeled", "github:city-council/permits#35"),
        ("milestone", "milestone__created", "github:city-council/permits/milestone/3"),
        # A sub-issue change is applied to the parent first: it is ordered with the parent's deliveries.
        ("sub_issues", "sub_issues__sub_issue_added", "github:city-council/permits#34"),
        ("ping", "ping__repository", "github:city-council/permits"),
        ("projects_v2_item", "projects_v2_item__edited_status", None),  # ignored: nothing to order
    ],
)
def test_intake_stores_the_subject_of_the_first_event_as_the_partition_key(
    app: Flask, event: str, fixture: str, key: str | None
) -> None:
    response = deliveries.github(app.test_client(), event, deliveries.fixture("github", fixture))
    with runtime(app).transaction() as session:
        assert session.scalar(select(Delivery.partition_key).where(Delivery.id == response.json["id"])) == key


def test_jira_deliveries_are_keyed_by_issue_and_by_sprint(app: Flask) -> None:
    client = app.test_client()
    issue = deliveries.jira(client, deliveries.fixture("jira", "issue_created__story")).json["id"]
    sprint = deliveries.jira(client, deliveries.fixture("jira", "sprint_started__sprint37")).json["id"]
    with runtime(app).transaction() as session:
        assert session.get(Delivery, issue).partition_key.startswith("jira:")  # type: ignore[union-attr]
        assert session.get(Delivery, sprint).partition_key == "jira:sprint/37"  # type: ignore[union-attr]


def test_one_delivery_per_subject_at_a_time_in_order_of_receipt(any_app: Flask) -> None:
    rt = runtime(any_app)
    a = [_send(any_app, A, step) for step in range(3)]
    b = [_send(any_app, B, step) for step in range(2)]
    claims = processing.claim(rt)
    assert [item.id for item in claims] == [a[0], b[0]]  # the head of each subject; the others wait behind it
    assert _claimed(any_app) == []  # another worker finds nothing while they are in flight
    assert processing.process(rt, claims[0]) == "processed"
    # A's next one now, but B's second still waits for its first.
    assert _claimed(any_app) == [a[1]]
    assert processing.process(rt, claims[1]) == "processed"
    assert _claimed(any_app) == [b[1]]


def test_a_drained_burst_applies_each_tickets_deliveries_in_order(any_app: Flask) -> None:
    for _number, payload in burst.interleaved(range(1, 6), window=3):
        deliveries.github(any_app.test_client(), "issues", payload)
    rt = runtime(any_app)
    while claims := processing.claim(rt, limit=3):
        # Each batch holds at most one delivery of a ticket, and never one whose predecessor is unfinished.
        with rt.transaction() as session:
            keys = [session.get(Delivery, c.id).partition_key for c in claims]  # type: ignore[union-attr]
        assert len(keys) == len(set(keys))
        for item in reversed(claims):  # even processed in another order than claimed
            assert processing.process(rt, item) == "processed"
    with rt.transaction() as session:
        for number in range(1, 6):
            logged = session.scalars(
                select(ValueLogEntry.kind).where(ValueLogEntry.subject == burst.key(number)).order_by(ValueLogEntry.seq)
            ).all()
            assert [kind for kind in logged if kind != "rule.fired"] == burst.EXPECTED_KINDS


@pytest.fixture
def database_hiccup(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """While the list is not empty, ticket A's deliveries fail as if the database dropped the connection."""
    failing: list[int] = []
    handle = processing.pipeline.handle

    def fail_some(session, event, settings=None):  # type: ignore[no-untyped-def]
        if event.subject == burst.key(A) and failing:
            raise OperationalError("UPDATE tickets ...", {}, Exception("server closed the connection unexpectedly"))
        return handle(session, event, settings)

    monkeypatch.setattr(processing.pipeline, "handle", fail_some)
    return failing


def test_a_delivery_waiting_for_its_retry_holds_back_its_subject_only(app: Flask, database_hiccup: list[int]) -> None:
    database_hiccup.append(1)
    a0, a1 = _send(app, A, 0), _send(app, A, 1)
    assert _process_claimed(app) == {a0: "failed"}
    b0 = _send(app, B, 0)
    assert _claimed(app) == [b0]
    with runtime(app).transaction() as session:
        row = session.get(Delivery, a0)
        assert row is not None
        retry_at = row.next_attempt_at
    assert _claimed(app, now=retry_at - timedelta(seconds=1)) == []  # A's second may not overtake its first
    database_hiccup.clear()
    assert _claimed(app, now=retry_at + timedelta(seconds=1)) == [a0]
    assert _status(app, a1) == "pending"


def test_permanent_and_dead_deliveries_hold_back_nothing(app: Flask) -> None:
    a0, a1, a2 = (_send(app, A, step) for step in range(3))
    with runtime(app).transaction() as session:
        session.execute(update(Delivery).where(Delivery.id == a0).values(status="failed", permanent=True))
        session.execute(update(Delivery).where(Delivery.id == a1).values(status="dead"))
    # They wait for an operator; the subject's later deliveries go on.
    assert _claimed(app) == [a2]


def test_deliveries_without_a_key_are_not_ordered(app: Flask) -> None:
    """Deliveries stored before keys existed (and ignored ones) are claimed as before: all at once."""
    ids = [_send(app, A, step) for step in range(3)]
    with runtime(app).transaction() as session:
        session.execute(update(Delivery).values(partition_key=None))
    assert _claimed(app) == ids


def test_a_replayed_delivery_waits_for_the_one_in_flight_and_goes_before_later_ones(any_app: Flask) -> None:
    rt = runtime(any_app)
    a0, a1, a2 = (_send(any_app, A, step) for step in range(3))
    assert _process_claimed(any_app) == {a0: "processed"}
    (in_flight,) = processing.claim(rt)
    assert in_flight.id == a1
    processing.replay(rt, str(a0))
    assert _claimed(any_app) == []  # a1 is leased to a worker: nothing else of A's starts beside it
    # The claim judged on what it saw; when its worker starts on a1, a0 (received earlier) is unfinished again:
    # a1 is handed back untried, so the two are never applied at once nor out of order.
    assert processing.process(rt, in_flight) == "pending"
    with rt.transaction() as session:
        row = session.get(Delivery, a1)
        assert row is not None and (row.status, row.attempts, row.lease_until) == ("pending", 0, None)
    assert _process_claimed(any_app) == {a0: "processed"}
    assert _process_claimed(any_app) == {a1: "processed"}
    assert _process_claimed(any_app) == {a2: "processed"}
