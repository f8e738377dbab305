"""Applying one domain Event to state (tickets, epics, labels, iterations) and the value log, in one transaction.

`handle` is the single entry point: the inbox worker calls it for every normalised event, inside the transaction
that also marks the delivery processed. It returns the domain events that actually happened (derived ones
included, e.g. `label.unknown`, `label.added` for labels first seen, `epic.linked`), for the rules engine.

Ticket events carry a snapshot in `data`, each key optional (absent = not known, left as stored):
`title`, `description`, `url`, `issue_type`, `state` (open|closed), `is_epic`, `node_id`, `labels` (the full set),
`epic` (parent epic key or None) with `parent` {key, title}, `iterations` (list of iteration dicts: key, name,
state, goal, start_at, end_at) with `iteration_scope` (the key prefix those cover, e.g. `jira:sprint/`).
Hypotheses follow (service/pipeline/hypotheses.py): an epic's description is parsed for value-hypothesis blocks,
and its phase moves with the work (ex-ante -> during -> ex-post).
Ordering: an event older than `Ticket.source_updated_at` / `Iteration.source_updated_at` does not overwrite state.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from rules.taxonomy import load_for
from service.config import Settings
from service.domain import events as kinds
from service.domain.events import Event
from service.pipeline import hypotheses, iterations, tickets, trackers
from service.pipeline.context import Step

_HANDLERS: dict[str, Callable[[Step], list[Event]]] = {
    kinds.TICKET_CREATED: tickets.apply_snapshot,
    kinds.TICKET_UPDATED: tickets.apply_snapshot,
    kinds.TICKET_CLOSED: tickets.apply_snapshot,
    kinds.TICKET_REOPENED: tickets.apply_snapshot,
    kinds.TICKET_DELETED: tickets.apply_snapshot,
    kinds.LABEL_ADDED: tickets.apply_label,
    kinds.LABEL_REMOVED: tickets.apply_label,
    kinds.EPIC_LINKED: tickets.apply_epic_link,
    kinds.EPIC_UNLINKED: tickets.apply_epic_link,
    kinds.ITERATION_CREATED: iterations.apply,
    kinds.ITERATION_UPDATED: iterations.apply,
    kinds.ITERATION_STARTED: iterations.apply,
    kinds.ITERATION_CLOSED: iterations.apply,
    kinds.ITERATION_DELETED: iterations.apply,
    kinds.ITERATION_JOINED: tickets.apply_membership,
    kinds.ITERATION_LEFT: tickets.apply_membership,
    kinds.TRACKER_PINGED: trackers.apply_ping,
}


def handle(session: Session, event: Event, settings: Settings | None = None) -> list[Event]:
    """Apply `event` in the caller's transaction; return what actually happened (empty when nothing changed)."""
    taxonomy = load_for(settings.rules_dir if settings else None)
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        # Nothing to store (e.g. comment.created): it passes straight on to the rules.
        return [event]
    happened = handler(Step(session, taxonomy, event))
    return happened + hypotheses.follow_up(session, happened, taxonomy)
