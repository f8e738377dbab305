"""A GitHub project's life through the real endpoint and worker: state, value-log entries, nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import Epic, Iteration, Label, Ticket, TicketIteration, ValueLogEntry
from tests import deliveries

EPIC = "github:city-council/permits#34"
STORY = "github:city-council/permits#35"
M3 = "github:city-council/permits/milestone/3"
M4 = "github:city-council/permits/milestone/4"


def send(app, event: str, name: str) -> None:
    response = deliveries.github(app.test_client(), event, deliveries.fixture("github", name))
    assert response.status_code == 202, response.json
    deliveries.drain(app)


def log_entries(app, after: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    """The pipeline's entries; the rules' own (`rule.fired`, ...) are checked in tests/service/test_reactions.py."""
    with runtime(app).transaction() as session:
        entries = session.scalars(
            select(ValueLogEntry)
            .where(ValueLogEntry.seq > after, ValueLogEntry.kind.not_like("rule.%"))
            .order_by(ValueLogEntry.seq)
        )
        return [(entry.kind, entry.subject, entry.data) for entry in entries]


def head(app) -> int:
    with runtime(app).transaction() as session:
        return int(session.scalar(select(ValueLogEntry.seq).order_by(ValueLogEntry.seq.desc()).limit(1)) or 0)


def labels_of(app, key: str) -> dict[str, tuple[str | None, str | None]]:
    with runtime(app).transaction() as session:
        found = session.scalars(select(Label).where(Label.ticket_key == key))
        return {label.name: (label.dimension, label.polarity) for label in found}


def memberships(app, key: str) -> dict[str, bool]:
    """iteration key -> still in it."""
    with runtime(app).transaction() as session:
        found = session.scalars(select(TicketIteration).where(TicketIteration.ticket_key == key))
        return {link.iteration_key: link.left_at is None for link in found}


def test_opened_epic_and_story(any_app) -> None:
    send(any_app, "issues", "issues__opened_epic")
    send(any_app, "issues", "issues__opened")
    with runtime(any_app).transaction() as session:
        epic = session.get(Ticket, EPIC)
        assert epic is not None and epic.is_epic and "value-hypothesis" in (epic.description or "")
        assert session.get(Epic, EPIC).phase == "ex-ante"
        story = session.get(Ticket, STORY)
        assert story is not None and story.node_id == "I_kwDOKnQ1Ts6b0035"
        assert session.get(Iteration, M3).state == "active"
    assert labels_of(any_app, STORY) == {
        "value:transparency": ("transparency", "value"),
        "value-risk:privacy-security": ("privacy-security", "value-risk"),
        "value:transparancy": (None, "value"),
    }
    kinds = [(kind, subject) for kind, subject, _ in log_entries(any_app)]
    assert kinds == [
        ("ticket.created", EPIC),
        ("label.added", EPIC),  # value:transparency; the `epic` label is not a value label and is not logged
        ("hypothesis.created", "hypothesis:1"),  # from the value-hypothesis block in the epic's body
        ("ticket.created", STORY),
        ("label.added", STORY),
        ("label.unknown", STORY),
        ("label.added", STORY),
        ("iteration.created", M3),
        ("iteration.started", M3),
        ("iteration.joined", STORY),
    ]
    unknown = next(data for kind, _, data in log_entries(any_app) if kind == "label.unknown")
    assert unknown["suggestion"] == "transparency" and unknown["label"] == "value:transparancy"
    assert memberships(any_app, STORY) == {M3: True}


def test_labels_added_once_and_removed(app) -> None:
    send(app, "issues", "issues__opened")
    mark = head(app)
    send(app, "issues", "issues__labeled")  # snapshot and explicit label: counted once
    assert [(k, d["label"], d["dimension"]) for k, _, d in log_entries(app, mark)] == [
        ("label.added", "value/a11y", "accessibility-inclusion")
    ]
    mark = head(app)
    send(app, "issues", "issues__unlabeled")
    assert [(k, d["label"]) for k, _, d in log_entries(app, mark)] == [("label.removed", "value-risk:privacy-security")]
    assert set(labels_of(app, STORY)) == {"value:transparency", "value:transparancy", "value/a11y"}


def test_milestones_move_the_ticket(app) -> None:
    send(app, "issues", "issues__opened")
    send(app, "issues", "issues__milestoned")
    assert memberships(app, STORY) == {M3: False, M4: True}
    send(app, "issues", "issues__demilestoned")
    assert memberships(app, STORY) == {M3: False, M4: False}
    kinds = [(kind, data.get("iteration")) for kind, subject, data in log_entries(app) if subject == STORY]
    assert ("iteration.left", M3) in kinds and ("iteration.joined", M4) in kinds and ("iteration.left", M4) in kinds


def test_lifecycle_closed_reopened_deleted(app) -> None:
    send(app, "issues", "issues__opened")
    mark = head(app)
    for name in ("issues__edited", "issues__closed", "issues__reopened", "issues__deleted"):
        send(app, "issues", name)
    assert [kind for kind, _, _ in log_entries(app, mark)] == [
        "ticket.updated",
        "ticket.closed",
        "ticket.reopened",
        "ticket.deleted",
    ]
    with runtime(app).transaction() as session:
        ticket = session.get(Ticket, STORY)
        assert ticket.state == "deleted" and ticket.title == "Show the refusal reason on the decision page"


def test_milestone_lifecycle(app) -> None:
    for action in ("created", "edited", "closed", "opened", "deleted"):
        send(app, "milestone", f"milestone__{action}")
    assert [kind for kind, _, _ in log_entries(app)] == [
        "iteration.created",
        "iteration.started",
        "iteration.closed",
        "iteration.started",
        "iteration.deleted",
    ]


def test_sub_issues_link_and_unlink_the_epic(app) -> None:
    send(app, "issues", "issues__opened_epic")
    send(app, "sub_issues", "sub_issues__sub_issue_added")
    send(app, "sub_issues", "sub_issues__parent_issue_added")  # GitHub sends both sides: one link
    child = "github:city-council/permits#36"
    linked = [(kind, subject, data) for kind, subject, data in log_entries(app) if kind.startswith("epic.")]
    assert linked == [("epic.linked", child, {"epic": EPIC, "occurred_at": "2026-11-19T10:00:00.000000Z"})]
    send(app, "sub_issues", "sub_issues__sub_issue_removed")
    with runtime(app).transaction() as session:
        assert session.get(Ticket, child).epic_key is None
        assert session.get(Ticket, EPIC).is_epic  # still labelled `epic`
    assert [kind for kind, _, _ in log_entries(app) if kind.startswith("epic.")] == ["epic.linked", "epic.unlinked"]


def test_projects_iteration_found_through_the_node_id(app) -> None:
    send(app, "issues", "issues__opened")
    send(app, "projects_v2_item", "projects_v2_item__edited_iteration")
    project_iteration = "github:project/PVT_kwDOBV8x2c4AkQzO/iteration/e5f6a7b8"
    assert memberships(app, STORY)[project_iteration] is True
    assert memberships(app, STORY)[M3] is True  # a milestone snapshot later would not touch project iterations
    send(app, "issues", "issues__labeled")
    assert memberships(app, STORY)[project_iteration] is True
    with runtime(app).transaction() as session:
        iteration = session.get(Iteration, project_iteration)
        assert iteration.name == "Iteration 7" and iteration.end_at.isoformat().startswith("2026-12-07")


def test_projects_item_for_an_unknown_issue_changes_nothing(app) -> None:
    send(app, "projects_v2_item", "projects_v2_item__edited_iteration")
    with runtime(app).transaction() as session:
        assert session.scalars(select(TicketIteration)).all() == []
        assert session.scalars(select(Ticket)).all() == []


def test_older_event_does_not_overwrite_newer_state(app) -> None:
    """The unlabel (12:00) arrives before the label (10:00): the older label must not come back."""
    send(app, "issues", "issues__unlabeled")
    send(app, "issues", "issues__labeled")
    assert "value-risk:privacy-security" not in labels_of(app, STORY)
    assert "value/a11y" in labels_of(app, STORY)
    assert not any(kind == "label.removed" for kind, _, _ in log_entries(app))


def test_on_a_tie_the_later_arrival_wins(app) -> None:
    first = deliveries.fixture("github", "issues__edited")
    second = deliveries.fixture("github", "issues__edited")
    second["issue"]["title"] = "Second edit in the same second"
    client = app.test_client()
    deliveries.github(client, "issues", first)
    deliveries.github(client, "issues", second)
    deliveries.drain(app)
    with runtime(app).transaction() as session:
        assert session.get(Ticket, STORY).title == "Second edit in the same second"
