"""`pipeline.handle` returns the domain events that actually happened, derived ones included."""

from __future__ import annotations

from datetime import UTC, datetime

from service import pipeline
from service.domain.events import Event
from service.domain.payloads import Comment, TicketReport
from service.runtime import runtime

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def ticket(**data: object) -> Event:
    return Event("ticket.created", "github", "github:acme/portal#3", "github:ana", AT, TicketReport(**data))


def test_returns_derived_events_for_rules(app) -> None:
    with runtime(app).transaction() as session:
        happened = pipeline.handle(
            session,
            ticket(title="Portal", labels=["value:transparancy", "value:a11y", "bug"], epic="github:acme/portal#1"),
            runtime(app).settings,
        )
    kinds = [(event.kind, event.data.plain().get("label") or event.data.plain().get("epic")) for event in happened]
    assert kinds == [
        ("ticket.created", None),
        ("label.added", "bug"),
        ("label.added", "value:a11y"),
        ("label.added", "value:transparancy"),
        ("label.unknown", "value:transparancy"),
        ("epic.linked", "github:acme/portal#1"),
    ]
    unknown = happened[4]
    assert unknown.data.plain()["suggestion"] == "transparency"


def test_nothing_new_returns_nothing(app) -> None:
    event = ticket(title="Portal", labels=["value:transparency"])
    with runtime(app).transaction() as session:
        pipeline.handle(session, event)
        assert pipeline.handle(session, event) == []


def test_comment_passes_straight_through(app) -> None:
    data = Comment(comment_id="10042", body="/value +1 x", author="a")
    comment = Event("comment.created", "jira", "jira:PERM-12", "jira:ana", AT, data)
    with runtime(app).transaction() as session:
        assert pipeline.handle(session, comment) == [comment]


def test_snapshot_event_carries_the_description_for_hypothesis_parsing(app) -> None:
    with runtime(app).transaction() as session:
        created = pipeline.handle(session, ticket(title="Epic", description="```value-hypothesis\n```", is_epic=True))
        assert created[0].data.plain()["description"].startswith("```value-hypothesis")
        later = Event(
            "ticket.updated", "github", "github:acme/portal#3", "github:ana", AT, TicketReport(description="new")
        )
        (updated,) = pipeline.handle(session, later)
        assert updated.kind == "ticket.updated" and updated.data.plain()["description"] == "new"
        assert updated.data.plain()["changed"] == ["description"]
