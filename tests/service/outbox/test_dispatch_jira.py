"""The dispatcher against Jira (Cloud and Data Center): credentials, 429 with Retry-After, 5xx, timeouts."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import responses

from integrations.jira.client import make_client
from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import Runtime, runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.service.outbox.fake_jira import SITE, FakeJiraIssue, jira_error
from tests.service.outbox.fakes import FakeClock, raising

TARGET = "jira:PROJ-12"
CLOUD = {"jira_url": SITE, "jira_email": "bot@acme.example", "jira_api_token": "atl-token"}


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    app = build_app(make_settings(tmp_path, **CLOUD))
    yield runtime(app)
    runtime(app).engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _enqueue(rt: Runtime, clock: FakeClock, action: str = "comment", body: dict | None = None) -> int:
    with rt.transaction() as session:
        item = enqueue(
            session,
            tracker="jira",
            action=action,
            target=TARGET,
            body=body or {"text": "h3. Sprint 37 value summary\n* transparency: 4 tickets"},
        )
        item.created_at = item.next_attempt_at = clock.now
        return item.id


def _row(rt: Runtime, item_id: int) -> OutboxItem:
    with rt.transaction() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        session.expunge(row)
        return row


def _run(rt: Runtime, clock: FakeClock, item_id: int, passes: int = 6) -> OutboxItem:
    dispatcher = Dispatcher(rt, clock=clock, rng=random.Random(3))
    for _ in range(passes):
        dispatcher.dispatch_due()
        row = _row(rt, item_id)
        if row.status in ("sent", "dead"):
            return row
        clock.now = max(clock.now + timedelta(seconds=1), row.next_attempt_at)
    return row


def test_cloud_comment_with_marker_and_basic_auth(rt, clock) -> None:
    issue = FakeJiraIssue()
    item_id = _enqueue(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "sent" and row.external_id == "10100"
    body = issue.comments[0]["body"]
    assert body.startswith("h3. Sprint 37 value summary")
    assert body.endswith(f"{{color:#97a0af}}pvm-outbox:{item_id}:20261128120000000000{{color}}")
    assert issue.auth_headers[0].startswith("Basic ")


def test_cloud_is_detected_through_server_info() -> None:
    settings = make_settings(Path("/nonexistent"), **CLOUD)
    client = make_client(settings)
    assert not isinstance(client, str)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeJiraIssue().install(mock)
        jira = client._client()
    assert jira._is_cloud  # so search_issues uses /rest/api/2/search/jql, not the removed /search


def test_data_center_uses_a_bearer_token(tmp_path: Path, clock) -> None:
    app = build_app(make_settings(tmp_path, jira_url=SITE, jira_api_token="dc-pat"))
    rt = runtime(app)
    issue = FakeJiraIssue()
    item_id = _enqueue(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "sent"
    assert issue.auth_headers == ["Bearer dc-pat"]


def test_wrong_credentials_are_dead_at_once(rt, clock) -> None:
    issue = FakeJiraIssue(
        post_faults=[("before", jira_error(401, "Client must be authenticated to access this resource."))]
    )
    item_id = _enqueue(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "dead" and row.attempts == 1
    assert "PVM_JIRA_EMAIL and PVM_JIRA_API_TOKEN" in (row.error or "")


@pytest.mark.parametrize("deployment", ["cloud", "data-center"])
@pytest.mark.parametrize(
    "fault",
    [
        jira_error(401, "Client must be authenticated to access this resource."),
        jira_error(403, "You do not have permission to comment on this issue."),
        jira_error(500, "Internal server error"),
    ],
    ids=["401", "403", "500"],
)
def test_credentials_never_reach_the_error_or_the_log(tmp_path: Path, clock, caplog, deployment, fault) -> None:
    """A JIRAError carries the request it answered, whose `Authorization` header is `Basic base64(email:token)`
    or `Bearer <token>`: neither the row's error (shown in the API) nor any log line may contain them."""
    settings = CLOUD if deployment == "cloud" else {"jira_url": SITE, "jira_api_token": "dc-pat-secret"}
    app = build_app(make_settings(tmp_path, **settings))
    rt = runtime(app)
    token = str(settings["jira_api_token"])
    basic = base64.b64encode(f"{settings.get('jira_email')}:{token}".encode()).decode()
    issue = FakeJiraIssue(post_faults=[("before", fault)])
    item_id = _enqueue(rt, clock)
    caplog.set_level(logging.DEBUG, logger="service")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        Dispatcher(rt, clock=clock, rng=random.Random(3)).dispatch_due()
    row = _row(rt, item_id)
    assert row.status in ("dead", "failed") and row.error
    for text in (row.error, caplog.text):
        assert token not in text and basic not in text and "authorization" not in text.lower()
    assert issue.auth_headers[0] in (f"Basic {basic}", f"Bearer {token}")  # the secret was on the wire
    runtime(app).engine.dispose()


def test_429_with_retry_after_is_honoured(rt, clock) -> None:
    fault = jira_error(429, "Rate limit exceeded.", **{"Retry-After": "30", "X-RateLimit-Limit": "100"})
    issue = FakeJiraIssue(post_faults=[("before", fault)])
    item_id = _enqueue(rt, clock)
    start = clock.now
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = Dispatcher(rt, clock=clock, rng=random.Random(3))
        dispatcher.dispatch_due()
        row = _row(rt, item_id)
        assert row.status == "failed" and row.next_attempt_at == start + timedelta(seconds=30)
        clock.advance(30)
        dispatcher.dispatch_due()
    assert _row(rt, item_id).status == "sent" and len(issue.comments) == 1


@pytest.mark.parametrize(
    "fault",
    [
        ("after", jira_error(503, "Service Unavailable")),
        ("before", jira_error(500, "Internal server error")),
        ("after", raising(requests.ReadTimeout("read timed out"))),
        ("after", raising(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))),
    ],
    ids=["503-stored", "500-not-stored", "timeout-after-accept", "reset-after-accept"],
)
def test_faults_are_retried_without_duplicates(rt, clock, fault) -> None:
    issue = FakeJiraIssue(post_faults=[fault])
    item_id = _enqueue(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "sent" and row.attempts == 2
    assert len(issue.comments) == 1
    assert row.external_id == issue.comments[0]["id"]


def test_labels_are_added_and_removed(rt, clock) -> None:
    issue = FakeJiraIssue(labels=["value:efficiency"])
    add = _enqueue(rt, clock, "add_label", {"label": "value:transparency"})
    remove = _enqueue(rt, clock, "remove_label", {"label": "value:efficiency"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        assert _run(rt, clock, add).status == "sent"
        assert _run(rt, clock, remove).status == "sent"
    assert issue.labels == ["value:transparency"]


def test_missing_settings_name_what_to_set(tmp_path: Path) -> None:
    reason = make_client(make_settings(tmp_path, jira_url=SITE))
    assert isinstance(reason, str) and "PVM_JIRA_API_TOKEN" in reason


def test_503_with_retry_after_waits_as_told(rt, clock) -> None:
    fault = jira_error(503, "Service Unavailable", **{"Retry-After": "10"})
    issue = FakeJiraIssue(post_faults=[("before", fault)])
    item_id = _enqueue(rt, clock)
    start = clock.now
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        Dispatcher(rt, clock=clock, rng=random.Random(3)).dispatch_due()
        row = _row(rt, item_id)
        assert row.status == "failed" and row.next_attempt_at == start + timedelta(seconds=10)
        row = _run(rt, clock, item_id)
    assert row.status == "sent" and len(issue.comments) == 1


def test_missing_project_permission_is_dead_naming_what_to_grant(rt, clock) -> None:
    fault = jira_error(403, "You do not have permission to comment on this issue.")
    issue = FakeJiraIssue(post_faults=[("before", fault)])
    item_id = _enqueue(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "dead" and "'Add comments'" in (row.error or "") and issue.comments == []
