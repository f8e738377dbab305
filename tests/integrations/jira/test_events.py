"""Jira payloads -> domain events, on the project's own realistic fixtures (one per event type)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.base import Identity
from integrations.jira.events import IGNORED, normalise
from integrations.payload import PayloadError
from service.domain.events import Event, Ignored
from tests.deliveries import fixture

STORY = "jira:PERM-14"


def run(name: str) -> list[Event]:
    payload = fixture("jira", name)
    result = normalise(Identity(payload["webhookEvent"], "d-1", payload.get("issue_event_type_name")), payload)
    assert not isinstance(result, Ignored), result
    return result


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


def test_created_story_is_a_full_snapshot() -> None:
    (event,) = run("issue_created__story")
    assert (event.kind, event.subject) == ("ticket.created", STORY)
    assert event.actor.startswith("jira:712020:")
    assert event.occurred_at == datetime(2026, 11, 20, 9, tzinfo=UTC)  # the body's timestamp
    data = event.data.plain()
    assert data["labels"] == ["value:transparency", "value-risk:privacy-security", "value:transparancy"]
    assert (data["is_epic"], data["epic"], data["state"]) == (False, "jira:PERM-12", "open")
    assert data["url"] == "https://citycouncil.atlassian.net/browse/PERM-14"
    assert [(s["key"], s["state"]) for s in data["iterations"]] == [("jira:sprint/37", "active")]


def test_epic_by_issue_type_keeps_its_description() -> None:
    (event,) = run("issue_created__epic")
    assert event.data.plain()["is_epic"] is True
    assert "{code:value-hypothesis}" in event.data.plain()["description"]


def test_label_changelog_compares_space_separated_sets() -> None:
    events = run("issue_updated__labels")
    assert kinds(events) == ["ticket.updated", "label.added", "label.removed"]
    assert events[1].data.plain() == {"label": "value/a11y"}
    assert events[2].data.plain() == {"label": "value-risk:privacy-security"}


@pytest.mark.parametrize(("name", "state"), [("issue_updated__closed", "closed"), ("issue_updated__reopened", "open")])
def test_status_category_gives_the_state(name: str, state: str) -> None:
    assert run(name)[0].data.plain()["state"] == state


def test_parent_change_unlinks_and_links() -> None:
    events = run("issue_updated__parent")
    assert kinds(events) == ["ticket.updated", "epic.unlinked", "epic.linked"]
    assert events[0].data.plain()["epic"] == "jira:PERM-20"
    assert (events[1].data.plain()["epic"], events[2].data.plain()["epic"]) == ("jira:PERM-12", "jira:PERM-20")


def test_legacy_epic_link_changelog() -> None:
    events = run("issue_updated__epic_link")
    assert "epic" not in events[0].data  # no `parent` field: the snapshot does not claim to know
    assert kinds(events)[1:] == ["epic.unlinked", "epic.linked"]


def test_sprint_changelog_with_comma_separated_ids() -> None:
    events = run("issue_updated__sprint")
    assert kinds(events) == ["ticket.updated", "iteration.joined"]
    assert events[1].data.plain()["iteration"] == {"key": "jira:sprint/38", "name": "PERM Sprint 38"}
    left = run("issue_updated__sprint_removed")
    assert kinds(left) == ["ticket.updated", "iteration.left"]
    assert left[1].data.plain()["iteration"]["key"] == "jira:sprint/37"


def test_sprint_field_found_by_name_whatever_its_id() -> None:
    events = run("issue_updated__sprint_other_field_id")
    assert "iterations" not in events[0].data
    assert events[1].data.plain()["iteration"]["key"] == "jira:sprint/41"


def test_server_sprint_strings_are_parsed() -> None:
    (event,) = run("issue_created__server_sprint_strings")
    (sprint,) = event.data.plain()["iterations"]
    assert sprint["key"] == "jira:sprint/37"
    assert sprint["name"] == "PERM Sprint 37"
    assert sprint["goal"] == "Publish, then explain"
    assert sprint["state"] == "active"


def test_deleted() -> None:
    assert kinds(run("issue_deleted__story")) == ["ticket.deleted"]


def test_comment_keeps_author_and_body() -> None:
    (event,) = run("comment_created__value_answer")
    assert (event.kind, event.subject) == ("comment.created", "jira:PERM-12")
    assert event.data.plain()["body"].startswith("/value +1")
    assert event.data.plain()["author"] == "jira:712020:0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"


@pytest.mark.parametrize(
    ("name", "kind", "state"),
    [
        ("sprint_created__minimal", "iteration.created", "future"),
        ("sprint_updated__sprint37", "iteration.updated", "future"),
        ("sprint_started__sprint37", "iteration.started", "active"),
        ("sprint_closed__sprint37", "iteration.closed", "closed"),
        ("sprint_deleted__sprint37", "iteration.deleted", "deleted"),
    ],
)
def test_sprint_events(name: str, kind: str, state: str) -> None:
    (event,) = run(name)
    assert (event.kind, event.subject, event.data.plain()["state"]) == (kind, "jira:sprint/37", state)


def test_every_sprint_field_is_optional() -> None:
    (event,) = normalise(
        Identity("sprint_started", None, None), {"webhookEvent": "sprint_started", "sprint": {"id": 9}}
    )
    assert event.data.plain()["key"] == "jira:sprint/9" and event.data.plain()["start_at"] is None
    no_id = normalise(Identity("sprint_closed", None, None), {"webhookEvent": "sprint_closed", "sprint": {}})
    assert isinstance(no_id, Ignored) and "id" in no_id.reason
    assert isinstance(normalise(Identity("sprint_closed", None, None), {"webhookEvent": "sprint_closed"}), Ignored)


def test_ignored_and_unknown_events() -> None:
    assert all(reason.strip() for reason in IGNORED.values())
    worklog = normalise(Identity("worklog_created", None, None), {})
    assert isinstance(worklog, Ignored) and "time tracking" in worklog.reason
    unknown = normalise(Identity("jira:issue_unknown", None, None), {})
    assert isinstance(unknown, Ignored) and "not an event this service uses" in unknown.reason


def test_wrong_type_deep_in_payload_names_the_path() -> None:
    payload = fixture("jira", "issue_created__malformed_labels")
    with pytest.raises(PayloadError, match=r"\$\.issue\.fields\.labels\[0\] should be a string, found an object"):
        normalise(Identity("jira:issue_created", None, None), payload)
    payload = fixture("jira", "issue_created__story")
    payload["timestamp"] = "yesterday"
    with pytest.raises(PayloadError, match=r"\$\.timestamp should be an ISO 8601 date-time"):
        normalise(Identity("jira:issue_created", None, None), payload)


def test_numeric_custom_fields_are_reported_as_estimates() -> None:
    """The story points field's id differs per site: every numeric custom field is reported, the settings pick one."""
    payload = fixture("jira", "issue_created__story")
    fields = payload["issue"]["fields"]
    fields.update(customfield_10016=5, customfield_10002=2.5, customfield_10099=10**20, customfield_10098=True)
    (event,) = normalise(Identity(payload["webhookEvent"], "d-1", None), payload)  # type: ignore[misc]
    # Out of any estimate's range, or not a number: left out rather than failing the delivery.
    assert event.data.estimates == {"customfield_10016": 5.0, "customfield_10002": 2.5}


def test_a_partial_issue_reports_no_estimates_so_stored_points_stay() -> None:
    payload = fixture("jira", "issue_created__story")
    payload["issue"]["fields"] = {"summary": "Only a summary", "labels": []}
    (event,) = normalise(Identity(payload["webhookEvent"], "d-1", None), payload)  # type: ignore[misc]
    assert event.data.estimates is None
