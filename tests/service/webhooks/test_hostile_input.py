"""Hostile deliveries, as an attacker with a valid webhook secret would send them: each gets a 4xx naming what is
wrong and nothing is stored, or it is stored and processed whole; a bad delivery never affects the next one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from service.runtime import runtime
from service.storage.models import Delivery, Iteration, Label, Ticket
from tests import deliveries
from tests.processes import served

RAW = "@@raw@@"  # a string value replaced by raw JSON text after dumping: tokens json.dumps would never write


def body(tracker: str, fixture: str, change: Callable[[dict[str, Any]], Any], raw: str = "") -> bytes:
    payload = deliveries.fixture(tracker, fixture)
    change(payload)
    text = json.dumps(payload)
    return text.replace(json.dumps(RAW), raw).encode() if raw else text.encode()


def put(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        node: Any = payload
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def stored(app) -> int:
    with runtime(app).transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)


# (id, tracker, event, body, what the answer must say)
REFUSED = [
    ("nesting-1200", "github", "issues", b'{"a": ' * 1200 + b"1" + b"}" * 1200, "nested more than 64 levels"),
    ("integer-5000-digits", "github", "issues", b'{"action": "opened", "n": ' + b"9" * 5000 + b"}", "5000 digits"),
    (
        "updated_at-1e20",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "updated_at", value=10**20)),
        "$.issue.updated_at: the integer has 21 digits",
    ),
    (
        "updated_at-minus-1e18",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "updated_at", value=-(10**18))),
        "$.issue.updated_at",
    ),
    (
        "updated_at-past-9999-in-utc",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "updated_at", value="9999-12-31T23:59:59-23:59")),
        "$.issue.updated_at should be an ISO 8601 date-time between the years 1 and 9999",
    ),
    (
        "updated_at-before-year-1-in-utc",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "updated_at", value="0001-01-01T00:00:00+23:59")),
        "$.issue.updated_at should be an ISO 8601 date-time",
    ),
    (
        "milestone-due_on",
        "github",
        "issues",
        body("github", "issues__milestoned", put("issue", "milestone", "due_on", value="9999-12-31T23:59:59-23:59")),
        "$.issue.milestone.due_on",
    ),
    (
        "milestone-due_on-epoch",
        "github",
        "issues",
        body("github", "issues__milestoned", put("issue", "milestone", "due_on", value=10**15)),
        "$.issue.milestone.due_on should be a time in milliseconds",
    ),
    (
        "comment-created_at",
        "github",
        "issue_comment",
        body("github", "issue_comment__created", put("comment", "created_at", value=10**20)),
        "$.comment.created_at",
    ),
    (
        "jira-timestamp",
        "jira",
        "",
        body("jira", "issue_created__story", put("timestamp", value=10**20)),
        "$.timestamp",
    ),
    (
        "iteration-duration",
        "github",
        "projects_v2_item",
        body(
            "github",
            "projects_v2_item__edited_iteration",
            put("changes", "field_value", "to", "duration", value=10**12),
        ),
        "duration of 1000000000000 days ends after the year 9999",
    ),
    (
        "lone-surrogate-action",
        "github",
        "issues",
        body("github", "issues__opened", put("action", value=RAW), raw='"op\\ud800"'),
        "$.action: the text contains a lone surrogate",
    ),
    (
        "lone-surrogate-webhookEvent",
        "jira",
        "",
        body("jira", "issue_created__story", put("webhookEvent", value=RAW), raw='"x\\udfff"'),
        "$.webhookEvent: the text contains a lone surrogate",
    ),
    (
        "nul-webhookEvent",
        "jira",
        "",
        body("jira", "issue_created__story", put("webhookEvent", value="jira:issue_created\u0000")),
        "$.webhookEvent: the text contains a NUL",
    ),
    (
        "nul-title",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "title", value="a\u0000b")),
        "$.issue.title: the text contains a NUL",
    ),
    (
        "surrogate-label",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "labels", 0, "name", value=RAW), raw='"value:\\ud800"'),
        "$.issue.labels[0].name",
    ),
    (
        "nan",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "comments", value=RAW), raw="NaN"),
        "NaN is not a number",
    ),
    (
        "overflowing-number",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "comments", value=RAW), raw="1e309"),
        "too large for a number",
    ),
    (
        "node_id-150",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "node_id", value="n" * 150)),
        "node_id: 150 characters, at most 100",
    ),
    (
        "label-400",
        "github",
        "issues",
        body("github", "issues__opened", put("issue", "labels", 0, "name", value="l" * 400)),
        "labels.0: 400 characters, at most 300",
    ),
    (
        "login-over-actor-limit",
        "github",
        "issues",
        body("github", "issues__opened", put("sender", "login", value="x" * 300)),
        "actor: 307 characters, at most 200",
    ),
    (
        "jira-key-500",
        "jira",
        "",
        body("jira", "issue_created__story", put("issue", "key", value="K" * 500)),
        "subject: 505 characters, at most 300",
    ),
    ("delivery-id-250", "github", "issues", body("github", "issues__opened", lambda _: None), "delivery id is 250"),
]


@pytest.mark.parametrize(
    ("tracker", "event", "data", "says"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_with_a_4xx_naming_what_is_wrong_and_nothing_stored(any_app, tracker, event, data, says) -> None:
    client = any_app.test_client()
    delivery = "d" * 250 if "delivery id" in says else None
    answer = deliveries.send(client, tracker, event, data, delivery)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.is_json and says in answer.json["error"]
    assert stored(any_app) == 0
    # The next delivery is served at once, and the service is healthy: nothing was left locked or half-written.
    assert deliveries.send_typical(client, tracker).status_code == 202
    assert client.get("/healthz").status_code == 200
    assert deliveries.drain(any_app) == 1 and stored(any_app) == 1


def test_descriptive_text_of_any_length_is_stored_and_processed_whole(any_app) -> None:
    """URLs, issue types and iteration names are text a tracker writes: kept whole, never a reason to fail."""
    url = "https://github.com/city-council/permits/issues/7?" + "q" * 1500
    type_name = "Citizen-facing improvement " * 10
    milestone_name = "Sprint " + "long name " * 60
    payload = deliveries.fixture("github", "issues__milestoned")
    payload["issue"].update(html_url=url, type={"name": type_name})
    payload["issue"]["milestone"]["title"] = milestone_name
    assert deliveries.github(any_app.test_client(), "issues", payload).status_code == 202
    deliveries.drain(any_app)
    with runtime(any_app).transaction() as session:
        assert session.scalar(select(Delivery.status)) == "processed"
        ticket = session.scalars(select(Ticket).where(Ticket.url == url)).one()
        assert ticket.issue_type == type_name
        assert session.scalars(select(Iteration.name)).one() == milestone_name


def numbered(number: int) -> bytes:
    payload = deliveries.fixture("github", "issues__labeled")
    payload["issue"]["number"] = number
    return json.dumps(payload).encode()


def test_a_poisoned_delivery_among_24_sent_at_once_fails_alone(any_app) -> None:
    """All 25 arrive together, so the valid ones share group commits; the poisoned one must not fail any of them."""
    good = [numbered(1000 + n) for n in range(24)]
    poisoned = body("github", "issues__labeled", put("action", value=RAW), raw='"labeled\\ud800"')
    bodies = [*good[:12], poisoned, *good[12:]]
    answers: dict[int, int] = {}
    barrier = threading.Barrier(len(bodies))
    with served(any_app) as base:

        def post(index: int) -> None:
            headers = deliveries.github_headers("issues", bodies[index], delivery=f"burst-{index}")
            barrier.wait()
            answers[index] = requests.post(
                f"{base}/webhooks/github", data=bodies[index], headers=headers, timeout=30
            ).status_code

        threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers.pop(12) == 400
        assert set(answers.values()) == {202}
        started = time.monotonic()
        after = deliveries.github_headers("issues", good[0], delivery="after-the-burst")
        assert requests.post(f"{base}/webhooks/github", data=good[0], headers=after, timeout=30).status_code == 202
        assert time.monotonic() - started < 5  # served at once: no lock left held by the poisoned request
    assert stored(any_app) == 25
    deliveries.drain(any_app)
    with runtime(any_app).transaction() as session:
        assert set(session.scalars(select(Delivery.status))) == {"processed"}
        assert session.scalar(select(func.count()).select_from(Label).where(Label.name.like("value:%"))) >= 24
