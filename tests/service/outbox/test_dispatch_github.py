"""The dispatcher against GitHub's REST API (stateful `responses` stand-in): every fault, never twice, never lost."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import Runtime, runtime
from service.storage.models import OutboxItem, TrackerPacing
from tests.conftest import build_app, make_settings
from tests.service.outbox.fakes import FakeClock, FakeGithubIssue, github_error, raising

TARGET = "github:acme/portal#34"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    app = build_app(make_settings(tmp_path, github_token="ghp_testtoken"))
    yield runtime(app)
    runtime(app).engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _dispatcher(rt: Runtime, clock: FakeClock, **kwargs: object) -> Dispatcher:
    return Dispatcher(rt, clock=clock, rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def _comment(rt: Runtime, clock: FakeClock, text: str = "Did you mean `value:transparency`?") -> int:
    with rt.transaction() as session:
        item = enqueue(
            session, tracker="github", action="comment", target=TARGET, body={"text": text}, cause="delivery:7"
        )
        item.created_at = item.next_attempt_at = clock.now
        return item.id


def _row(rt: Runtime, item_id: int) -> OutboxItem:
    with rt.transaction() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        session.expunge(row)
        return row


def _until_settled(dispatcher: Dispatcher, rt: Runtime, clock: FakeClock, item_id: int, passes: int = 10) -> OutboxItem:
    for _ in range(passes):
        dispatcher.dispatch_due()
        row = _row(rt, item_id)
        if row.status in ("sent", "dead"):
            return row
        clock.now = max(clock.now + timedelta(seconds=1), row.next_attempt_at)
    return row


def test_comment_is_posted_once_with_its_marker(rt, clock) -> None:
    issue = FakeGithubIssue()
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        assert _dispatcher(rt, clock).dispatch_due() == 1
        row = _row(rt, item_id)
        assert mock.calls[0].request.headers["Authorization"] == "token ghp_testtoken"
    assert row.status == "sent" and row.attempts == 1 and row.error is None
    assert row.external_id == str(issue.comments[0]["id"])
    body = issue.comments[0]["body"]
    assert body.startswith("Did you mean `value:transparency`?")
    assert f"<!-- pvm-outbox:{item_id}:20261128120000000000 -->" in body


def test_wrong_credentials_are_dead_at_once_naming_the_setting(rt, clock) -> None:
    issue = FakeGithubIssue(post_faults=[("before", github_error(401, "Bad credentials"))])
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        _dispatcher(rt, clock).dispatch_due()
    row = _row(rt, item_id)
    assert row.status == "dead" and row.attempts == 1
    assert "PVM_GITHUB_TOKEN" in (row.error or "") and "401" in (row.error or "")
    assert issue.posts == 1 and issue.comments == []


def test_forbidden_without_rate_limit_is_dead_naming_the_setting(rt, clock) -> None:
    fault = github_error(403, "Resource not accessible by personal access token", **{"X-RateLimit-Remaining": "4999"})
    issue = FakeGithubIssue(post_faults=[("before", fault)])
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        _dispatcher(rt, clock).dispatch_due()
    row = _row(rt, item_id)
    assert row.status == "dead"
    assert "PVM_GITHUB_TOKEN" in (row.error or "") and "Issues read and write" in (row.error or "")


@pytest.mark.parametrize(
    "fault",
    [
        ("before", github_error(502, "Server Error")),
        ("after", github_error(502, "Server Error")),
        ("before", github_error(503, "Service Unavailable")),
        ("after", raising(requests.ReadTimeout("read timed out after the request was sent"))),
        ("after", raising(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))),
        ("before", raising(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))),
    ],
    ids=["5xx-not-stored", "5xx-stored", "503", "timeout-after-accept", "reset-after-accept", "reset-before"],
)
def test_transient_faults_are_retried_and_never_duplicate(rt, clock, fault) -> None:
    issue = FakeGithubIssue(post_faults=[fault])
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        dispatcher.dispatch_due()
        first = _row(rt, item_id)
        assert first.status == "failed" and first.maybe_sent and first.error
        assert first.next_attempt_at > clock.now  # backoff, not an immediate hammering
        dispatcher.dispatch_due()  # nothing is due yet
        assert _row(rt, item_id).attempts == 1
        row = _until_settled(dispatcher, rt, clock, item_id)
    assert row.status == "sent"
    assert len(issue.comments) == 1  # never twice, never lost
    assert row.external_id == str(issue.comments[0]["id"])
    stored_on_first_try = fault[0] == "after"
    assert issue.posts == (1 if stored_on_first_try else 2)  # the marker was found instead of posting again


def test_primary_rate_limit_waits_for_the_reset_and_holds_every_write(rt, clock) -> None:
    reset = int(clock.now.timestamp()) + 600
    fault = github_error(
        403,
        "API rate limit exceeded for user ID 1.",
        **{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": str(reset)},
    )
    issue = FakeGithubIssue(post_faults=[("before", fault)])
    first, second = _comment(rt, clock, "one"), _comment(rt, clock, "two")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        dispatcher.dispatch_due()
        row = _row(rt, first)
        assert row.status == "failed" and row.attempts == 0  # a rate limit does not use up a try
        assert row.next_attempt_at.timestamp() == reset + 1
        clock.advance(300)
        assert dispatcher.dispatch_due() == 0  # the second row waits too: the limit is per tracker
        assert _row(rt, second).status == "pending"
        clock.advance(302)
        for _ in range(3):
            dispatcher.dispatch_due()
            clock.advance(1)
    assert [_row(rt, i).status for i in (first, second)] == ["sent", "sent"]
    assert sorted(c["body"].split("\n")[0] for c in issue.comments) == ["one", "two"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
        (429, "Too Many Requests"),
    ],
)
def test_secondary_limit_and_429_honour_retry_after(rt, clock, status, message) -> None:
    issue = FakeGithubIssue(post_faults=[("before", github_error(status, message, **{"Retry-After": "90"}))])
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        dispatcher.dispatch_due()
        row = _row(rt, item_id)
        assert row.status == "failed" and "rate limit" in (row.error or "")
        assert row.next_attempt_at == clock.now + timedelta(seconds=90)
        clock.advance(89)
        dispatcher.dispatch_due()
        assert _row(rt, item_id).status == "failed"
        clock.advance(1)
        dispatcher.dispatch_due()
    assert _row(rt, item_id).status == "sent" and len(issue.comments) == 1


def test_gives_up_after_the_last_try_into_dead(rt, clock) -> None:
    issue = FakeGithubIssue(post_faults=[("before", github_error(500, "Server Error"))] * 3)
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _until_settled(_dispatcher(rt, clock, max_attempts=3), rt, clock, item_id)
    assert row.status == "dead" and row.attempts == 3
    assert (row.error or "").startswith("gave up after 3 tries")
    assert issue.comments == []


def test_writes_go_one_at_a_time_a_second_apart(rt, clock) -> None:
    issue = FakeGithubIssue()
    ids = [_comment(rt, clock, f"reply {n}") for n in range(3)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        assert dispatcher.dispatch_due() == 1
        assert dispatcher.dispatch_due() == 0  # the same instant: the next write must wait a second
        clock.advance(0.5)
        assert dispatcher.dispatch_due() == 0
        clock.advance(0.5)
        assert dispatcher.dispatch_due() == 1
        clock.advance(1)
        assert dispatcher.dispatch_due() == 1
    assert [_row(rt, i).status for i in ids] == ["sent"] * 3
    with rt.transaction() as session:
        pacing = session.get(TrackerPacing, "github")
        assert pacing is not None and pacing.next_write_at == clock.now + timedelta(seconds=1)


def test_expired_lease_is_taken_over_and_checks_the_marker(rt, clock) -> None:
    """A worker died after GitHub stored the comment but before it wrote `sent`."""
    issue = FakeGithubIssue()
    item_id = _comment(rt, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        dispatcher._finish = lambda claim, outcome: None  # type: ignore[method-assign]  # the worker dies here
        dispatcher.dispatch_due()
        assert _row(rt, item_id).status == "sending" and len(issue.comments) == 1
        clock.advance(60)
        assert _dispatcher(rt, clock).dispatch_due() == 0  # lease still held
        clock.advance(300)
        assert _dispatcher(rt, clock).dispatch_due() == 1
    row = _row(rt, item_id)
    assert row.status == "sent" and row.maybe_sent and row.attempts == 2
    assert len(issue.comments) == 1 and issue.posts == 1


def test_labels_are_added_and_removed_idempotently(rt, clock) -> None:
    issue = FakeGithubIssue(labels=["bug"])
    with rt.transaction() as session:
        add = enqueue(
            session, tracker="github", action="add_label", target=TARGET, body={"label": "value:transparency"}
        )
        gone = enqueue(session, tracker="github", action="remove_label", target=TARGET, body={"label": "value:nope"})
        add.next_attempt_at = gone.next_attempt_at = clock.now
        ids = [add.id, gone.id]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        for _ in range(2):
            dispatcher.dispatch_due()
            clock.advance(1)
    assert issue.labels == ["bug", "value:transparency"]
    assert [_row(rt, i).status for i in ids] == ["sent", "sent"]  # removing an absent label is already done


def test_unconfigured_tracker_is_skipped_with_the_reason(tmp_path: Path, clock) -> None:
    app = build_app(make_settings(tmp_path))
    rt = runtime(app)
    item_id = _comment(rt, clock)
    with responses.RequestsMock():  # any request would fail the test
        assert _dispatcher(rt, clock).dispatch_due() == 1
    row = _row(rt, item_id)
    assert row.status == "skipped" and "PVM_GITHUB_TOKEN" in (row.error or "")


def test_dry_run_records_every_action_without_sending(tmp_path: Path, clock) -> None:
    app = build_app(make_settings(tmp_path, outbound="record"))
    rt = runtime(app)
    item_id = _comment(rt, clock)
    with rt.transaction() as session:
        jira = enqueue(
            session, tracker="jira", action="add_label", target="jira:PROJ-12", body={"label": "value:efficiency"}
        )
        jira.next_attempt_at = clock.now
        jira_id = jira.id
    with responses.RequestsMock():
        dispatcher = _dispatcher(rt, clock)
        assert dispatcher.dispatch_due() == 2
    assert _row(rt, item_id).status == "recorded" and _row(rt, jira_id).status == "recorded"
    recorder = dispatcher.client("github")
    assert not isinstance(recorder, str)
    assert recorder.calls[0].payload.endswith(f"<!-- pvm-outbox:{item_id}:20261128120000000000 -->")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("action", "body", "error"),
    [
        ("comment", {"text": "  "}, "comment needs a non-empty body.text"),
        ("add_label", {}, "add_label needs body.label"),
        ("close_issue", {"text": "x"}, "unknown action 'close_issue'"),
    ],
)
def test_malformed_rows_are_dead_without_a_request(rt, clock, action, body, error) -> None:
    with rt.transaction() as session:
        item = enqueue(session, tracker="github", action=action, target=TARGET, body=body)
        item.next_attempt_at = clock.now
        item_id = item.id
    with responses.RequestsMock():
        _dispatcher(rt, clock).dispatch_due()
    row = _row(rt, item_id)
    assert row.status == "dead" and error in (row.error or "")


def test_a_client_that_cannot_be_built_is_reported_on_the_row(rt, clock) -> None:
    def broken(tracker: str) -> Any:
        raise ValueError("Could not deserialize key data")

    item_id = _comment(rt, clock)
    _dispatcher(rt, clock, clients=broken).dispatch_due()
    row = _row(rt, item_id)
    assert row.status == "skipped" and "cannot create the github client (ValueError)" in (row.error or "")


def test_the_worker_drains_tracker_and_channel_rows_and_refuses_what_no_channel_sends(tmp_path: Path) -> None:
    from service.worker import Worker, default_drains

    app = build_app(make_settings(tmp_path, outbound="record"))
    rt = runtime(app)
    with rt.transaction() as session:
        reply = enqueue(session, tracker="github", action="comment", target=TARGET, body={"text": "hello"})
        mail = enqueue(session, tracker="email", action="send", target="stakeholder:4", body={"subject": "Check-in"})
        ids = reply.id, mail.id
    assert Worker(rt, drains=default_drains()).run_once() == 2
    assert _row(rt, ids[0]).status == "recorded"
    mail_row = _row(rt, ids[1])  # e-mail rows carry check-in prompts and reminders, nothing else
    assert mail_row.status == "dead" and "checkin_prompt, checkin_reminder" in (mail_row.error or "")


def test_a_long_dry_run_keeps_every_row_but_bounded_memory(tmp_path: Path, clock, monkeypatch) -> None:
    monkeypatch.setattr("service.outbox.clients.RECORDED_CALLS_KEPT", 2)
    rt = runtime(build_app(make_settings(tmp_path, outbound="record")))
    ids = [_comment(rt, clock, f"reply {n}") for n in range(5)]
    dispatcher = _dispatcher(rt, clock)
    assert dispatcher.dispatch_due() == 5
    assert [_row(rt, i).status for i in ids] == ["recorded"] * 5  # every action is visible in the outbox
    recorder = dispatcher.client("github")
    assert [c.payload.split("\n")[0] for c in recorder.calls] == ["reply 3", "reply 4"]  # type: ignore[union-attr]
    rt.engine.dispose()


def test_each_failed_try_waits_about_twice_as_long(rt, clock) -> None:
    issue = FakeGithubIssue(post_faults=[("before", github_error(502, "Server Error"))] * 4)
    item_id = _comment(rt, clock)
    waits = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        dispatcher = _dispatcher(rt, clock)
        for _ in range(4):
            dispatcher.dispatch_due()
            row = _row(rt, item_id)
            assert row.status == "failed"
            waits.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
        dispatcher.dispatch_due()
    assert _row(rt, item_id).status == "sent" and len(issue.comments) == 1
    for n, wait in enumerate(waits):
        assert 15 * 2**n <= wait <= 30 * 2**n  # 30 s, 60 s, 120 s, 240 s, each cut by up to half at random


def test_the_runtime_keeps_one_dispatcher_so_clients_are_built_once(rt) -> None:
    from service.outbox.dispatch import dispatch_due

    assert rt.outbox_dispatcher is None
    dispatch_due(rt)
    first = rt.outbox_dispatcher
    dispatch_due(rt)
    assert first is not None and rt.outbox_dispatcher is first
