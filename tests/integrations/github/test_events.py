"""GitHub payloads -> domain events, on the project's own realistic fixtures (one per event type)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.base import Identity
from integrations.github.events import IGNORED, IGNORED_ACTIONS, normalise
from integrations.payload import PayloadError
from service.domain.events import Event, Ignored
from tests.deliveries import fixture

EPIC = "github:city-council/permits#34"
STORY = "github:city-council/permits#35"


def run(event: str, name: str) -> list[Event]:
    payload = fixture("github", name)
    result = normalise(Identity(event, "d-1", payload.get("action")), payload)
    assert not isinstance(result, Ignored), result
    return result


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


def test_opened_is_a_snapshot_with_labels_milestone_and_description() -> None:
    (event,) = run("issues", "issues__opened")
    assert (event.kind, event.subject, event.actor) == ("ticket.created", STORY, "github:ana-dev")
    assert event.occurred_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert event.data.plain()["labels"] == ["value:transparency", "value-risk:privacy-security", "value:transparancy"]
    assert event.data.plain()["description"].startswith("Show the rule")
    assert event.data.plain()["is_epic"] is False
    assert event.data.plain()["iterations"][0]["key"] == "github:city-council/permits/milestone/3"
    assert event.data.plain()["iterations"][0]["state"] == "active"


def test_epic_label_and_sub_issues_make_an_epic() -> None:
    (event,) = run("issues", "issues__opened_epic")
    assert event.subject == EPIC and event.data.plain()["is_epic"] is True
    assert "```value-hypothesis" in event.data.plain()["description"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("issues__edited", "ticket.updated"),
        ("issues__closed", "ticket.closed"),
        ("issues__reopened", "ticket.reopened"),
        ("issues__deleted", "ticket.deleted"),
    ],
)
def test_ticket_lifecycle(name: str, kind: str) -> None:
    events = run("issues", name)
    assert kinds(events) == [kind]
    assert events[0].subject == STORY


def test_labeled_and_unlabeled_carry_the_label() -> None:
    added = run("issues", "issues__labeled")
    assert kinds(added) == ["ticket.updated", "label.added"]
    assert added[1].data.plain() == {"label": "value/a11y"}
    removed = run("issues", "issues__unlabeled")
    assert kinds(removed) == ["ticket.updated", "label.removed"]
    assert removed[1].data.plain() == {"label": "value-risk:privacy-security"}


def test_milestoned_and_demilestoned_move_the_ticket() -> None:
    joined = run("issues", "issues__milestoned")
    assert kinds(joined) == ["ticket.updated", "iteration.joined"]
    assert joined[1].data.plain()["iteration"]["key"] == "github:city-council/permits/milestone/4"
    left = run("issues", "issues__demilestoned")
    assert kinds(left) == ["ticket.updated", "iteration.left"]
    assert left[0].data.plain()["iterations"] == []
    assert left[1].data.plain()["iteration"]["key"] == "github:city-council/permits/milestone/4"


def test_comment_keeps_author_and_body() -> None:
    (event,) = run("issue_comment", "issue_comment__created")
    assert (event.kind, event.subject) == ("comment.created", EPIC)
    assert event.data.plain()["author"] == "ana-dev"
    assert event.data.plain()["body"].startswith("/value +1 accessibility-inclusion")


@pytest.mark.parametrize(
    ("action", "kind", "state"),
    [
        ("created", "iteration.created", "active"),
        ("edited", "iteration.updated", "active"),
        ("closed", "iteration.closed", "closed"),
        ("opened", "iteration.started", "active"),
        ("deleted", "iteration.deleted", "deleted"),
    ],
)
def test_milestones_are_iterations(action: str, kind: str, state: str) -> None:
    (event,) = run("milestone", f"milestone__{action}")
    assert (event.kind, event.subject) == (kind, "github:city-council/permits/milestone/3")
    assert event.data.plain()["state"] == state
    assert event.data.plain()["name"] == "Sprint 37"


@pytest.mark.parametrize("action", ["sub_issue_added", "parent_issue_added"])
def test_sub_issue_added_links_the_epic(action: str) -> None:
    parent, child, link = run("sub_issues", f"sub_issues__{action}")
    assert parent.subject == EPIC and parent.data.plain()["is_epic"] is True
    assert child.subject == "github:city-council/permits#36"
    assert (link.kind, link.subject, link.data.plain()["epic"]) == ("epic.linked", child.subject, EPIC)


@pytest.mark.parametrize("action", ["sub_issue_removed", "parent_issue_removed"])
def test_sub_issue_removed_unlinks_the_epic(action: str) -> None:
    link = run("sub_issues", f"sub_issues__{action}")[-1]
    assert (link.kind, link.data.plain()["epic"]) == ("epic.unlinked", EPIC)


def test_projects_iteration_change_names_both_iterations() -> None:
    left, upsert, joined = run("projects_v2_item", "projects_v2_item__edited_iteration")
    new_key = "github:project/PVT_kwDOBV8x2c4AkQzO/iteration/e5f6a7b8"
    assert (upsert.kind, upsert.subject) == ("iteration.updated", new_key)
    assert (upsert.data.start_at.date().isoformat(), upsert.data.end_at.date().isoformat()) == (
        "2026-11-23",
        "2026-12-07",
    )
    assert left.kind == "iteration.left"
    assert left.data.plain()["iteration"]["key"] == "github:project/PVT_kwDOBV8x2c4AkQzO/iteration/a1b2c3d4"
    assert (joined.kind, joined.data.plain()["iteration"]["key"]) == ("iteration.joined", new_key)
    assert joined.data.plain()["node_id"] == "I_kwDOKnQ1Ts6b0035"


def test_projects_non_iteration_change_is_ignored_with_reason() -> None:
    payload = fixture("github", "projects_v2_item__edited_status")
    result = normalise(Identity("projects_v2_item", "d", "edited"), payload)
    assert isinstance(result, Ignored) and "iteration" in result.reason


def test_ping_names_the_repository() -> None:
    (event,) = run("ping", "ping__repository")
    assert (event.kind, event.subject) == ("tracker.pinged", "github:city-council/permits")


def test_ignored_events_have_reasons_and_unknown_events_are_ignored() -> None:
    assert all(reason.strip() for reason in [*IGNORED.values(), *IGNORED_ACTIONS.values()])
    push = normalise(Identity("push", "d", None), {"ref": "refs/heads/main"})
    assert isinstance(push, Ignored) and "commits" in push.reason
    future = normalise(Identity("issue_dependencies", "d", "added"), {"action": "added"})
    assert isinstance(future, Ignored) and "not an event this service uses" in future.reason
    assigned = normalise(Identity("issues", "d", "assigned"), fixture("github", "issues__opened"))
    assert isinstance(assigned, Ignored) and "assignees" in assigned.reason


def test_wrong_type_deep_in_payload_names_the_path() -> None:
    payload = fixture("github", "issues__opened_malformed_labels")
    with pytest.raises(PayloadError, match=r"\$\.issue\.labels should be an array, found a string"):
        normalise(Identity("issues", "d", "opened"), payload)
    payload = fixture("github", "issues__opened")
    payload["issue"]["labels"][1]["name"] = 42
    with pytest.raises(PayloadError, match=r"\$\.issue\.labels\[1\]\.name should be a string"):
        normalise(Identity("issues", "d", "opened"), payload)
    with pytest.raises(PayloadError, match=r"\$\.issue should be an object"):
        normalise(Identity("issues", "d", "opened"), {"action": "opened", "issue": ["x"]})
