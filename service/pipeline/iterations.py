"""Iterations (sprints, milestones, Projects iterations) and which tickets are in them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from integrations.payload import PayloadError, parse_time
from service.domain import events as kinds
from service.domain.events import Event
from service.pipeline.context import Step, is_stale, later
from service.storage.insert_once import insert_once
from service.storage.models import Iteration, TicketIteration

_STATE_KINDS = {"active": kinds.ITERATION_STARTED, "closed": kinds.ITERATION_CLOSED, "deleted": kinds.ITERATION_DELETED}


def _time(info: dict[str, Any], name: str) -> datetime | None:
    value = info.get(name)
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse_time(str(value), f"iteration.{name}")
    except PayloadError:
        return None


def apply(step: Step) -> list[Event]:
    """An iteration event from the tracker itself (sprint_*, milestone): it owns the iteration's state."""
    event = step.event
    row = step.session.get(Iteration, event.subject)
    if row is not None and is_stale(row.source_updated_at, event.occurred_at):
        return []
    return upsert(step, dict(event.data), authoritative=True)


def upsert(step: Step, info: dict[str, Any], *, authoritative: bool) -> list[Event]:
    """Create or update an iteration. Only authoritative events move its state; others just make it known."""
    key = str(info["key"])
    row = step.session.get(Iteration, key)
    result: list[Event] = []
    state = info.get("state")
    created = False
    if row is None:
        row = Iteration(key=key, source=step.event.source, name=info.get("name") or "", state=state or "future")
        _copy(row, info)
        # Tickets of several subjects join one new sprint at once: the first insert wins, the others update it.
        row, created = insert_once(step.session, row, lambda: step.session.get(Iteration, key))
    if created:
        result.append(step.record(kinds.ITERATION_CREATED, key, _describe(row)))
        if row.state in _STATE_KINDS:
            result.append(step.record(_STATE_KINDS[row.state], key, _describe(row)))
    else:
        changed = _copy(row, info, only_missing=not authoritative)
        if authoritative and state and state != row.state:
            row.state = state
            result.append(step.record(_STATE_KINDS.get(state, kinds.ITERATION_UPDATED), key, _describe(row)))
        elif changed:
            result.append(step.derive(kinds.ITERATION_UPDATED, key, _describe(row)))
    if authoritative:
        row.source_updated_at = later(row.source_updated_at, step.event.occurred_at)
    return result


def _copy(row: Iteration, info: dict[str, Any], only_missing: bool = False) -> bool:
    changed = False
    for name, value in (
        ("name", info.get("name")),
        ("goal", info.get("goal")),
        ("board", info.get("board")),
        ("start_at", _time(info, "start_at")),
        ("end_at", _time(info, "end_at")),
    ):
        if value in (None, "") or getattr(row, name) == value:
            continue
        if only_missing and getattr(row, name) not in (None, ""):
            continue
        setattr(row, name, value)
        changed = True
    return changed


def _describe(row: Iteration) -> dict[str, Any]:
    return {
        "name": row.name,
        "state": row.state,
        "start_at": row.start_at,
        "end_at": row.end_at,
    }


def join(step: Step, ticket_key: str, info: dict[str, Any]) -> list[Event]:
    result = upsert(step, info, authoritative=False)
    key = str(info["key"])
    moment = step.event.occurred_at or datetime.now(UTC)
    link = step.session.get(TicketIteration, (ticket_key, key))
    if link is not None and link.left_at is None:
        return result
    if link is None:
        step.session.add(TicketIteration(ticket_key=ticket_key, iteration_key=key, joined_at=moment))
    else:
        link.joined_at, link.left_at = moment, None
    return [*result, step.record(kinds.ITERATION_JOINED, ticket_key, {"iteration": key})]


def leave(step: Step, ticket_key: str, key: str) -> list[Event]:
    link = step.session.get(TicketIteration, (ticket_key, key))
    if link is None or link.left_at is not None:
        return []
    link.left_at = step.event.occurred_at or datetime.now(UTC)
    return [step.record(kinds.ITERATION_LEFT, ticket_key, {"iteration": key})]


def replace_all(step: Step, ticket_key: str, wanted: list[dict[str, Any]], scope: str) -> list[Event]:
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
    wanted_keys = {str(info["key"]) for info in wanted}
    result: list[Event] = []
    for key in sorted(current - wanted_keys):
        result += leave(step, ticket_key, key)
    for info in wanted:
        result += join(step, ticket_key, info)
    return result
