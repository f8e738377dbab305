"""Applying one domain Event to state (tickets, epics, labels, iterations) and the value log, in one transaction.

`handle` is the single entry point: the inbox worker calls it for every normalised event, inside the transaction
that also marks the delivery processed. It returns the domain events that actually happened (derived ones
included, e.g. `label.unknown`, `label.added` for labels first seen, `epic.linked`), for the rules engine.

Events arrive with the payloads integrations report (`service.domain.payloads`: a `TicketReport` snapshot whose
fields left out are not known and keep their stored values, `LabelChange`, `EpicChange`, `IterationReport`,
`PlacementReport`); what happened leaves with recorded payloads (`TicketChange`, `Membership`, ...).
Hypotheses follow (service/pipeline/hypotheses.py): an epic's description is parsed for value-hypothesis blocks,
and its phase moves with the work (ex-ante -> during -> ex-post).
Ordering: an event older than `Ticket.source_updated_at` / `Iteration.source_updated_at` does not overwrite state.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from service.config import Settings
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.taxonomy import load_for
from service.pipeline import comments, hypotheses, iterations, tickets, trackers
from service.pipeline.context import Step

_HANDLERS: dict[str, Callable[[Step], list[Event]]] = {
    Kind.TICKET_CREATED: tickets.apply_snapshot,
    Kind.TICKET_UPDATED: tickets.apply_snapshot,
    Kind.TICKET_CLOSED: tickets.apply_snapshot,
    Kind.TICKET_REOPENED: tickets.apply_snapshot,
    Kind.TICKET_DELETED: tickets.apply_snapshot,
    Kind.LABEL_ADDED: tickets.apply_label,
    Kind.LABEL_REMOVED: tickets.apply_label,
    Kind.EPIC_LINKED: tickets.apply_epic_link,
    Kind.EPIC_UNLINKED: tickets.apply_epic_link,
    Kind.ITERATION_CREATED: iterations.apply,
    Kind.ITERATION_UPDATED: iterations.apply,
    Kind.ITERATION_STARTED: iterations.apply,
    Kind.ITERATION_CLOSED: iterations.apply,
    Kind.ITERATION_DELETED: iterations.apply,
    Kind.ITERATION_JOINED: tickets.apply_membership,
    Kind.ITERATION_LEFT: tickets.apply_membership,
    Kind.TRACKER_PINGED: trackers.apply_ping,
    Kind.COMMENT_CREATED: comments.apply,
}


def handle(session: Session, event: Event, settings: Settings | None = None) -> list[Event]:
    """Apply `event` in the caller's transaction; return what actually happened (empty when nothing changed)."""
    taxonomy = load_for(settings.rules_dir if settings else None)
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return [event]  # nothing to store: it passes straight on to the rules
    happened = handler(Step(session, taxonomy, event, settings))
    return happened + hypotheses.follow_up(session, happened, taxonomy)
