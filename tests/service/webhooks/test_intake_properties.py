"""Property: whatever a signed tracker sends, intake answers 2xx or 4xx (never 5xx), and every delivery it
acknowledges ends `processed` or `ignored` in the worker, on both engines.

The payloads are the real fixtures with hostile values put anywhere in them (tests/hostile.py), and random JSON.
"""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import Delivery
from tests import deliveries
from tests.hostile import VALUES, dumps, mutated

FIXTURES = [(tracker, name) for tracker in ("github", "jira", "gitlab") for name in deliveries.fixture_names(tracker)]
EVENTS = {
    "github": ["issues", "issue_comment", "milestone", "sub_issues", "projects_v2_item", "ping", "star", "x\x7f"],
    "jira": [""],
    "gitlab": ["Issue Hook", "Note Hook", "Push Hook"],
}


def check_delivery(app, tracker: str, event: str, body: bytes) -> None:
    answer = deliveries.send(app.test_client(), tracker, event, body)
    hypothesis.event(f"answered {answer.status_code}")
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert answer.status_code in (200, 202, 400), answer.get_data(as_text=True)
    assert answer.is_json and ("error" in answer.json) == (answer.status_code == 400)
    if answer.status_code != 202:
        return
    deliveries.drain(app)
    with runtime(app).transaction() as session:
        status, error = session.execute(
            select(Delivery.status, Delivery.error).where(Delivery.id == answer.json["id"])
        ).one()
    assert status in ("processed", "ignored"), error


@st.composite
def fixture_deliveries(draw: st.DrawFn) -> tuple[str, str, bytes]:
    tracker, name = draw(st.sampled_from(FIXTURES))
    payload: Any = deliveries.fixture(tracker, name)
    return tracker, deliveries.event_of(tracker, name), dumps(draw(mutated(payload)))


@given(delivery=fixture_deliveries())
def test_mutated_real_payloads_never_get_a_5xx_and_never_fail_in_the_worker(any_app, delivery) -> None:
    check_delivery(any_app, *delivery)


@given(tracker=st.sampled_from(list(EVENTS)), data=st.data())
def test_random_json_never_gets_a_5xx(any_app, tracker, data) -> None:
    event = data.draw(st.sampled_from(EVENTS[tracker]))
    check_delivery(any_app, tracker, event, dumps(data.draw(VALUES)))
