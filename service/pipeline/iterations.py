"""Iterations (sprints, milestones, Projects iterations) and which tickets are in them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import IterationChange, IterationReport, Membership
from service.pipeline.context import Step, is_stale, later
from service.storage.insert_once import insert_once
from service.storage.models import Iteration, TicketIteration

_STATE_KINDS = {"active": Kind.ITERATION_STARTED, "closed": Kind.ITERATION_CLOSED, "deleted": Kind.ITERATION_DELETED}


def apply(step: Step) -> list[Event]:
    """An iteration event from the tracker itself (sprint_*, milestone): it owns the iteration's state."""
    event = step.event
    row = step.session.get(Iteration, event.subject)
    if row is not None and is_stale(row.source_updated_at, event.occurred_at):
        return []
    return upsert(step, step.reported(IterationReport), authoritative=True)


def upsert(step: Step, info: IterationReport, *, authoritative: bool) -> list[Event]:
    """Create or update an iteration. Only authoritative events move its state; others just make it known."""
    key = info.key
    row = step.session.get(Iteration, key)
    result: list[Event] = []
    state = info.state
    created = False
    if row is None:
        row = Iteration(key=key, source=step.event.source, name=info.name or "", state=state or "future")
        _copy(row, info)
        # Tickets of several subjects join one new sprint at once: the first insert wins, the others update it.
        row, created = insert_once(step.session, row, lambda: step.session.get(Iteration, key))
    if created:
        result.append(step.record(Kind.ITERATION_CREATED, key, _describe(row)))
        if row.state in _STATE_KINDS:
            result.append(step.record(_STATE_KINDS[row.state], key, _describe(row)))
    else:
        changed = _copy(row, info, only_missing=not authoritative)
        if authoritative and state and state != row.state:
            row.state = state
            result.append(step.record(_STATE_KINDS.get(state, Kind.ITERATION_UPDATED), key, _describe(row)))
        elif changed:
            result.append(step.derive(Kind.ITERATION_UPDATED, key, _describe(row)))
    if authoritative:
        row.source_updated_at = later(row.source_updated_at, step.event.occurred_at)
    return result


def _copy(row: Iteration, info: IterationReport, only_missing: bool = False) -> bool:
    changed = False
    for name, value in (
        ("name", info.name),
        ("goal", info.goal),
        ("board", info.board),
        ("start_at", info.start_at),
        ("end_at", info.end_at),
    ):
        if value in (None, "") or getattr(row, name) == value:
            continue
        if only_missing and getattr(row, name) not in (None, ""):
            continue
        setattr(row, name, value)
        changed = True
    return changed


def _describe(row: Iteration) -> IterationChange:
    return IterationChange(name=row.name, state=row.state, start_at=row.start_at, end_at=row.end_at)


def join(step: Step, ticket_key: str, info: IterationReport) -> list[Event]:
    result = upsert(step, info, authoritative=False)
    key = info.key
    moment = step.event.occurred_at or datetime.now(UTC)
    link = step.session.get(TicketIteration, (ticket_key, key))
    if link is not None and link.left_at is None:
        return result
    if link is None:
        step.session.add(TicketIteration(ticket_key=ticket_key, iteration_key=key, joined_at=moment))
    else:
        link.joined_at, link.left_at = moment, None
    return [*result, step.record(Kind.ITERATION_JOINED, ticket_key, Membership(iteration=key))]


def leave(step: Step, ticket_key: str, key: str) -> list[Event]:
    link = step.session.get(TicketIteration, (ticket_key, key))
    if link is None or link.left_at is not None:
        return []
    link.left_at = step.event.occurred_at or datetime.now(UTC)
    return [step.record(Kind.ITERATION_LEFT, ticket_key, Membership(iteration=key))]


def replace_all(step: Step, ticket_key: str, wanted: list[IterationReport], scope: str) -> list[Event]:
    """Make the ticket's current iterations within `scope` (e.g. `jira:sprint/`) equal the snapshot's."""
    current = set(
        step.session.scalars(
            select(TicketIteration.iteration_key).where(
                TicketIteration.ticket_key == ticket_key,
                TicketIteration.left_at.is_(None),
                TicketIteration.iteration_key.startswith(scope, autoescape=True),
            )
        )
    )
    wanted_keys = {info.key for info in wanted}
    result: list[Event] = []
    for key in sorted(current - wanted_keys):
        result += leave(step, ticket_key, key)
    for info in wanted:
        result += join(step, ticket_key, info)
    return result
