"""What tracker events mean for value hypotheses: blocks parsed from epic descriptions, and the epic's phase."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.hypotheses import blocks, lifecycle
from service.storage.models import Epic, Iteration, Ticket, TicketIteration

_DESCRIPTION_EVENTS = (Kind.TICKET_CREATED, Kind.TICKET_UPDATED, Kind.TICKET_REOPENED)


def follow_up(session: Session, happened: list[Event], taxonomy: Taxonomy) -> list[Event]:
    """The hypothesis events that follow from what the tracker event changed, in the same transaction."""
    result: list[Event] = []
    synced: set[str] = set()
    for event in happened:
        if event.kind in _DESCRIPTION_EVENTS and event.subject not in synced and _epic(session, event.subject):
            synced.add(event.subject)
            ticket = session.get(Ticket, event.subject)
            # Parse what the state now holds, not the event: a stale event left the stored description in force,
            # and an unchanged block is recognised by its hash and writes nothing.
            result += blocks.sync_from_description(
                session,
                epic_key=event.subject,
                description=ticket.description if ticket else None,
                actor=event.actor,
                source=event.source,
                taxonomy=taxonomy,
            )
        if event.kind == Kind.TICKET_CLOSED and _epic(session, event.subject):
            result += lifecycle.on_epic_closed(session, epic_key=event.subject, actor=event.actor, source=event.source)
        elif event.kind == Kind.TICKET_REOPENED and _epic(session, event.subject):
            result += lifecycle.on_epic_reopened(
                session, epic_key=event.subject, actor=event.actor, source=event.source
            )
        elif event.kind == Kind.EPIC_LINKED:
            # A ticket already in a running iteration joined the epic: the epic's work has started too, however
            # the tracker ordered the parent link and the sprint within its delivery.
            running = session.scalars(
                select(TicketIteration.iteration_key)
                .join(Iteration, Iteration.key == TicketIteration.iteration_key)
                .where(
                    TicketIteration.ticket_key == event.subject,
                    TicketIteration.left_at.is_(None),
                    Iteration.state == "active",
                )
                .order_by(TicketIteration.iteration_key)
                .limit(1)
            ).first()
            if running is not None:
                result += _work_started(session, [event.subject], running, event)
        elif event.kind == Kind.ITERATION_JOINED:
            joined = event.data.about_iteration()
            iteration = session.get(Iteration, joined) if joined else None
            if iteration is not None and iteration.state == "active":
                result += _work_started(session, [event.subject], iteration.key, event)
        elif event.kind == Kind.ITERATION_STARTED:
            members = session.scalars(
                select(TicketIteration.ticket_key).where(
                    TicketIteration.iteration_key == event.subject, TicketIteration.left_at.is_(None)
                )
            ).all()
            result += _work_started(session, list(members), event.subject, event)
    return result


def _epic(session: Session, key: str) -> Epic | None:
    return session.get(Epic, key)


def _work_started(session: Session, ticket_keys: list[str], iteration_key: str, cause: Event) -> list[Event]:
    """Work on an epic (the epic itself or one of its tickets) is in a running iteration: ex-ante -> during."""
    epics: list[str] = []
    for key in ticket_keys:
        ticket = session.get(Ticket, key)
        if ticket is None:
            continue
        epic_key = ticket.key if _epic(session, ticket.key) else ticket.epic_key
        if epic_key and epic_key not in epics and _epic(session, epic_key):
            epics.append(epic_key)
    result: list[Event] = []
    for epic_key in epics:
        result += lifecycle.on_iteration_work(
            session, epic_key=epic_key, iteration_key=iteration_key, actor=cause.actor, source=cause.source
        )
    return result
