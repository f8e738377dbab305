"""Replies to GitLab go through the same outbox and the plugin's client: marker, no duplicates, labels."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from requests import PreparedRequest

from integrations import registry
from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import Runtime, runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.service.outbox.fakes import FakeClock, Fault, raising

GITLAB = "https://gitlab.example.gov"
PROJECT = f"{GITLAB}/api/v4/projects/digital-services%2Fbenefits-portal"
TARGET = "gitlab:digital-services/benefits-portal#5"


class FakeGitlabIssue:
    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.notes: list[dict[str, Any]] = []
        self.labels = ["value:transparency"]
        self.faults = faults or []
        self.posts = 0
        self.tokens: list[str] = []

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(
            responses.POST, f"{PROJECT}/issues/5/notes", callback=self._post, content_type="application/json"
        )
        mock.add_callback(
            responses.GET,
            re.compile(re.escape(f"{PROJECT}/issues/5/notes") + r"(\?.*)?$"),
            callback=self._list,
            content_type="application/json",
        )
        mock.add_callback(responses.PUT, f"{PROJECT}/issues/5", callback=self._update, content_type="application/json")

    def _post(self, request: PreparedRequest) -> Any:
        self.posts += 1
        self.tokens.append(str(request.headers.get("PRIVATE-TOKEN")))
        fault = self.faults.pop(0) if self.faults else None
        if fault and fault[0] == "before":
            return fault[1]()
        note = {
            "id": 553400 + len(self.notes),
            "type": None,
            "body": json.loads(request.body or b"{}")["body"],
            "author": {"id": 99, "username": "pvm-bot", "name": "Public Value Monitor"},
            "created_at": "2026-11-28T12:00:00.000Z",
            "updated_at": "2026-11-28T12:00:00.000Z",
            "system": False,
            "noteable_id": 88123,
            "noteable_type": "Issue",
            "project_id": 4711,
            "noteable_iid": 5,
            "resolvable": False,
            "confidential": False,
            "internal": False,
        }
        self.notes.append(note)
        if fault:
            return fault[1]()
        return 201, {}, json.dumps(note)

    def _list(self, request: PreparedRequest) -> Any:
        return 200, {"X-Total": str(len(self.notes)), "X-Page": "1", "X-Total-Pages": "1"}, json.dumps(self.notes)

    def _update(self, request: PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        if body.get("add_labels") and body["add_labels"] not in self.labels:
            self.labels.append(body["add_labels"])
        if body.get("remove_labels") in self.labels:
            self.labels.remove(body["remove_labels"])
        return 200, {}, json.dumps({"id": 88123, "iid": 5, "project_id": 4711, "labels": self.labels})


def gitlab_error(status: int, message: str) -> Any:
    return lambda: (status, {}, json.dumps({"message": message}))


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    app = build_app(make_settings(tmp_path, gitlab_url=GITLAB, gitlab_token="glpat-test"))
    yield runtime(app)
    runtime(app).engine.dispose()


def _enqueue(rt: Runtime, clock: FakeClock, action: str, body: dict[str, str]) -> int:
    with rt.transaction() as session:
        item = enqueue(session, tracker="gitlab", action=action, target=TARGET, body=body)
        item.created_at = item.next_attempt_at = clock.now
        return item.id


def _run(rt: Runtime, clock: FakeClock, item_id: int) -> OutboxItem:
    dispatcher = Dispatcher(rt, clock=clock, rng=random.Random(1))
    for _ in range(5):
        dispatcher.dispatch_due()
        with rt.transaction() as session:
            row = session.get(OutboxItem, item_id)
            assert row is not None
            session.expunge(row)
        if row.status in ("sent", "dead"):
            break
        clock.now = max(clock.now + timedelta(seconds=1), row.next_attempt_at)
    return row


def test_the_client_comes_from_the_plugin() -> None:
    factory = registry.get("gitlab").make_client
    assert factory is not None
    missing = factory(make_settings(Path("/nonexistent")))
    assert isinstance(missing, str) and "PVM_GITLAB_TOKEN" in missing


@pytest.mark.parametrize(
    "faults",
    [[], [("after", gitlab_error(502, "502 Bad Gateway"))], [("after", raising(requests.ReadTimeout("late")))]],
    ids=["clean", "502-after-accept", "timeout-after-accept"],
)
def test_comment_once_with_an_html_marker(rt, faults) -> None:
    clock, issue = FakeClock(), FakeGitlabIssue(faults)
    item_id = _enqueue(rt, clock, "comment", {"text": "Did you mean `value:transparency`?"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "sent" and len(issue.notes) == 1 and issue.posts == 1
    assert row.external_id == str(issue.notes[0]["id"])
    assert issue.notes[0]["body"].endswith(f"<!-- pvm-outbox:{item_id}:20261128120000000000 -->")
    assert issue.tokens == ["glpat-test"]


def test_wrong_token_is_dead_naming_the_setting(rt) -> None:
    clock, issue = FakeClock(), FakeGitlabIssue([("before", gitlab_error(401, "401 Unauthorized"))])
    item_id = _enqueue(rt, clock, "comment", {"text": "hello"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        row = _run(rt, clock, item_id)
    assert row.status == "dead" and "PVM_GITLAB_TOKEN" in (row.error or "") and issue.notes == []


def test_429_waits_without_the_library_sleeping(rt) -> None:
    clock, issue = FakeClock(), FakeGitlabIssue([("before", gitlab_error(429, "Retry later"))])
    item_id = _enqueue(rt, clock, "comment", {"text": "hello"})
    start = clock.now
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        Dispatcher(rt, clock=clock).dispatch_due()
        with rt.transaction() as session:
            row = session.get(OutboxItem, item_id)
            assert row is not None and row.status == "failed" and row.next_attempt_at == start + timedelta(seconds=60)
        assert issue.posts == 1  # python-gitlab did not re-send by itself
        row = _run(rt, clock, item_id)
    assert row.status == "sent" and len(issue.notes) == 1


def test_labels_added_and_removed(rt) -> None:
    clock, issue = FakeClock(), FakeGitlabIssue()
    add = _enqueue(rt, clock, "add_label", {"label": "value:efficiency"})
    remove = _enqueue(rt, clock, "remove_label", {"label": "value:transparency"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        assert _run(rt, clock, add).status == "sent"
        assert _run(rt, clock, remove).status == "sent"
    assert issue.labels == ["value:efficiency"]


def test_label_catalogue_create_update_unchanged(tmp_path: Path) -> None:
    from integrations.gitlab.client import make_client

    client = make_client(make_settings(tmp_path, gitlab_url=GITLAB, gitlab_token="glpat-test"))
    assert not isinstance(client, str)
    labels: dict[str, dict[str, Any]] = {"value:efficiency": {"color": "#000000", "description": "old"}}

    def get(request: PreparedRequest) -> Any:
        name = str(request.url).rsplit("/", 1)[1].replace("%3A", ":")
        if name not in labels:
            return 404, {}, json.dumps({"message": "404 Label Not Found"})
        return 200, {}, json.dumps({"id": 1, "name": name, **labels[name]})

    def write(request: PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        name = body.get("name") or str(request.url).rsplit("/", 1)[1].replace("%3A", ":")
        labels[name] = {"color": body["color"], "description": body["description"]}
        return (201 if request.method == "POST" else 200), {}, json.dumps({"id": 2, "name": name, **labels[name]})

    one = re.compile(re.escape(f"{PROJECT}/labels/") + r"[^/?]+$")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, one, callback=get, content_type="application/json")
        # python-gitlab edits through `PUT /projects/:id/labels` with the name in the body (GitLab accepts both).
        mock.add_callback(responses.PUT, f"{PROJECT}/labels", callback=write, content_type="application/json")
        mock.add_callback(responses.POST, f"{PROJECT}/labels", callback=write, content_type="application/json")
        repo = "digital-services/benefits-portal"
        assert client.ensure_label(repo, "value:efficiency", "0E8A16", "less burden") == "updated"
        assert client.ensure_label(repo, "value:outcomes", "b60205", "policy outcome") == "created"
        assert client.ensure_label(repo, "value:outcomes", "b60205", "policy outcome") == "unchanged"
    assert labels["value:efficiency"] == {"color": "#0e8a16", "description": "less burden"}
