"""A delivery keeps only the headers that say what it is (event, delivery id, client name, content type): an
allow-list, so a credential a proxy or client added on the way is never stored or shown by the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from integrations.github.webhook import signature as github_signature
from integrations.jira.webhook import signature as jira_signature
from service.inbox.store import kept_headers
from service.runtime import runtime
from service.storage.models import Delivery
from tests import deliveries
from tests.conftest import GITHUB_SECRET, GITLAB_SECRET, JIRA_SECRET

# What the attacker's delivery carried besides the tracker's own headers.
SMUGGLED = {
    "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
    "X-Api-Key": "live-key-123",
    "Authorization": "Bearer pvm_somebodys_token",
    "Cookie": "session=abc",
    "X-Forwarded-For": "10.0.0.7",
    "X-Internal-Token": "t0ken",
    "Forwarded": "for=10.0.0.7",
}
SECRET_VALUES = ("cHJveHk6c2VjcmV0", "live-key-123", "pvm_somebodys_token", "session=abc", "t0ken", "sha256=")


def _github(body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "gh-kept-1",
        "X-Hub-Signature-256": github_signature(body, GITHUB_SECRET),
        "X-GitHub-Hook-ID": "12",
        "User-Agent": "GitHub-Hookshot/abc123",
    }


def _jira(body: bytes) -> dict[str, str]:
    return {
        "X-Atlassian-Webhook-Identifier": "jira-kept-1",
        "X-Hub-Signature": jira_signature(body, JIRA_SECRET),
        "User-Agent": "Atlassian Webhook HTTP Client",
    }


def _gitlab(body: bytes) -> dict[str, str]:
    return {
        "X-Gitlab-Event": "Issue Hook",
        "X-Gitlab-Event-UUID": "gl-kept-1",
        "X-Gitlab-Token": GITLAB_SECRET,
        "User-Agent": "GitLab/17.0.0",
    }


CASES = {
    "github": (
        "issues__opened",
        _github,
        {"x-github-event": "issues", "x-github-delivery": "gh-kept-1", "user-agent": "GitHub-Hookshot/abc123"},
    ),
    "jira": (
        "issue_created__story",
        _jira,
        {"x-atlassian-webhook-identifier": "jira-kept-1", "user-agent": "Atlassian Webhook HTTP Client"},
    ),
    "gitlab": (
        "issue__opened",
        _gitlab,
        {"x-gitlab-event": "Issue Hook", "x-gitlab-event-uuid": "gl-kept-1", "user-agent": "GitLab/17.0.0"},
    ),
}


@pytest.mark.parametrize("tracker", sorted(CASES))
def test_only_the_allow_listed_headers_are_stored_and_shown(app, admin_headers, tracker: str) -> None:
    fixture, tracker_headers, expected = CASES[tracker]
    body = json.dumps(deliveries.fixture(tracker, fixture)).encode()
    headers = {**tracker_headers(body), **SMUGGLED, "Content-Type": "application/json"}
    response = app.test_client().post(f"/webhooks/{tracker}", data=body, headers=headers)
    assert response.status_code == 202, response.json
    with runtime(app).transaction() as session:
        stored = session.scalars(select(Delivery)).one().headers
    assert stored == {**expected, "content-type": "application/json"}
    shown = app.test_client().get(f"/api/v1/deliveries/{response.json['id']}", headers=admin_headers)
    assert shown.json["headers"] == stored
    assert not any(secret in shown.get_data(as_text=True) for secret in SECRET_VALUES)


def test_the_allow_list_ignores_case_and_keeps_nothing_unknown() -> None:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-Anything": "x",
        "Proxy-Authorization": "y",
    }
    assert kept_headers(headers, ("x-github-event",)) == {"content-type": "application/json", "x-github-event": "ping"}
    assert kept_headers(headers) == {"content-type": "application/json"}
