"""GitLab through the plugin interface: found by entry point, token check, identity, normalised Events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrations import registry
from integrations.base import Identity, Integration, WebhookError
from service.domain.events import Event, Ignored
from service.domain.kinds import Kind
from tests.conftest import FIXTURES, GITLAB_SECRET, make_settings

HOOKS = {"issue": "Issue Hook", "note": "Note Hook", "push": "Push Hook"}
KEY = "gitlab:digital-services/benefits-portal#5"


def _gitlab() -> Integration:
    return registry.get("gitlab")  # only through the entry point: nothing imports integrations.gitlab directly


def _load(name: str) -> tuple[dict[str, str], bytes, dict[str, Any]]:
    body = (FIXTURES / "gitlab" / f"{name}.json").read_bytes()
    headers = {
        "x-gitlab-event": HOOKS[name.split("__")[0]],
        "x-gitlab-token": GITLAB_SECRET,
        "x-gitlab-event-uuid": "1f0b3c2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b",
        "content-type": "application/json",
    }
    return headers, body, json.loads(body)


def _events(name: str) -> list[Event] | Ignored:
    gitlab = _gitlab()
    headers, body, payload = _load(name)
    assert gitlab.verify(headers, body, GITLAB_SECRET)
    return gitlab.normalise(gitlab.identify(headers, payload), payload)


def test_registered_through_the_entry_point_group() -> None:
    gitlab = _gitlab()
    assert gitlab.name == "gitlab" and gitlab.secret_variable == "PVM_GITLAB_WEBHOOK_SECRET"
    assert gitlab.secret(make_settings(Path("/nonexistent"))) == GITLAB_SECRET
    assert gitlab.make_client is not None


def test_token_check_is_exact() -> None:
    gitlab = _gitlab()
    headers, body, _ = _load("issue__opened")
    assert gitlab.verify(headers, body, GITLAB_SECRET)
    assert not gitlab.verify({**headers, "x-gitlab-token": GITLAB_SECRET + "x"}, body, GITLAB_SECRET)
    assert not gitlab.verify({k: v for k, v in headers.items() if k != "x-gitlab-token"}, body, GITLAB_SECRET)


def test_identity_from_headers() -> None:
    gitlab = _gitlab()
    headers, _, payload = _load("issue__labels_changed")
    assert gitlab.identify(headers, payload) == Identity("Issue Hook", "1f0b3c2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b", "update")
    del headers["x-gitlab-event-uuid"]
    assert gitlab.identify(headers, payload).delivery_id is None  # older GitLab: the inbox hashes the body
    with pytest.raises(WebhookError) as missing:
        gitlab.identify({}, payload)
    assert missing.value.status == 400 and "X-Gitlab-Event" in str(missing.value)


def test_opened_issue_is_created_with_its_labels_and_its_milestone() -> None:
    result = _events("issue__opened")
    assert isinstance(result, list)
    assert [(e.kind, e.data.plain().get("label")) for e in result] == [
        (Kind.TICKET_CREATED, None),
        (Kind.LABEL_ADDED, "value:transparency"),
        (Kind.LABEL_ADDED, "bug"),
        (Kind.ITERATION_JOINED, None),
    ]
    created = result[0]
    assert created.subject == KEY and created.source == "gitlab" and created.actor == "gitlab:amira.haddad"
    assert created.occurred_at is not None and created.occurred_at.isoformat() == "2026-11-20T10:15:00+00:00"
    assert created.data.plain()["title"] == "Show refusal reasons to applicants"
    assert created.data.plain()["state"] == "open" and created.data.plain()["labels"] == ["value:transparency", "bug"]
    assert created.data.plain()["url"].endswith("/-/issues/5") and created.data.plain()["is_epic"] is False
    assert result[-1].data.plain() == {"iteration": {"key": "gitlab:digital-services/benefits-portal/milestone/31"}}
    assert created.data.plain()["description"].startswith("Applicants cannot see")


def test_close_and_reopen() -> None:
    closed, reopened = _events("issue__closed"), _events("issue__reopened")
    assert isinstance(closed, list) and isinstance(reopened, list)
    # Each also says where the issue is now (milestone 31), so a ticket first seen here is placed too.
    placed = (Kind.ITERATION_JOINED, "gitlab:digital-services/benefits-portal/milestone/31")
    assert [(e.kind, e.data.about_iteration()) for e in closed] == [(Kind.TICKET_CLOSED, None), placed]
    assert [(e.kind, e.data.about_iteration()) for e in reopened] == [(Kind.TICKET_REOPENED, None), placed]
    assert closed[0].data.plain()["state"] == "closed" and reopened[0].data.plain()["state"] == "open"


def test_label_changes_become_added_and_removed() -> None:
    result = _events("issue__labels_changed")
    assert isinstance(result, list)
    assert [(e.kind, e.data.plain().get("label")) for e in result] == [
        (Kind.TICKET_UPDATED, None),
        (Kind.LABEL_ADDED, "value:accessibility-inclusion"),
        (Kind.LABEL_ADDED, "value:transparancy"),
        (Kind.LABEL_REMOVED, "bug"),
        (Kind.ITERATION_JOINED, None),  # where it is now: milestone 31
    ]
    assert result[0].data.plain()["labels"] == [
        "value:transparency",
        "value:accessibility-inclusion",
        "value:transparancy",
    ]


def test_iteration_and_milestone_changes() -> None:
    result = _events("issue__iteration_changed")
    assert isinstance(result, list)
    assert [(e.kind, (e.data.plain().get("iteration") or {}).get("key")) for e in result] == [
        (Kind.TICKET_UPDATED, None),
        (Kind.ITERATION_LEFT, "gitlab:digital-services/iteration/1206"),
        (Kind.ITERATION_JOINED, "gitlab:digital-services/iteration/1207"),
        (Kind.ITERATION_LEFT, "gitlab:digital-services/benefits-portal/milestone/31"),
        (Kind.ITERATION_JOINED, "gitlab:digital-services/benefits-portal/milestone/32"),
    ]


def test_issue_comment_is_a_comment_event() -> None:
    result = _events("note__issue_comment")
    assert isinstance(result, list) and len(result) == 1
    comment = result[0]
    assert comment.kind == Kind.COMMENT_CREATED and comment.subject == KEY and comment.actor == "gitlab:jberg"
    assert comment.data.plain()["author"] == "jberg" and comment.data.plain()["comment_id"] == "553210"
    assert comment.data.plain()["body"].startswith("/value +1 transparency")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("note__merge_request", "'MergeRequest'"),
        ("note__system", "system note"),
        ("push__main", "'Push Hook' is not acted on"),
    ],
)
def test_other_events_are_ignored_with_a_reason(name: str, reason: str) -> None:
    result = _events(name)
    assert isinstance(result, Ignored) and reason in result.reason


def test_our_own_replies_are_ignored() -> None:
    gitlab = _gitlab()
    headers, _, payload = _load("note__issue_comment")
    payload["object_attributes"]["note"] = (
        "Did you mean `value:transparency`?\n\n<!-- pvm-outbox:7:20261128120000000000 -->"
    )
    result = gitlab.normalise(gitlab.identify(headers, payload), payload)
    assert isinstance(result, Ignored) and "outbox marker" in result.reason
