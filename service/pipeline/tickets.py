"""Tickets and epics: a ticket snapshot is compared with stored state and only real changes become events."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from service import once_keys
from service.domain import keys, once
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import EpicChange, LabelChange, PlacementReport, TicketChange, TicketReport
from service.pipeline import iterations, labels
from service.pipeline.context import Step, is_stale, later
from service.storage.insert_once import insert_once
from service.storage.models import Epic, Ticket

log = logging.getLogger(__name__)

_TEXT_FIELDS = ("title", "description", "url", "issue_type")
_STATE_KINDS = {"closed": Kind.TICKET_CLOSED, "open": Kind.TICKET_REOPENED, "deleted": Kind.TICKET_DELETED}


def resolve(step: Step) -> Ticket | None:
    """The ticket an event is about; GitHub Projects name an issue only by node id (`github:node/...`)."""
    subject = step.event.subject
    node_id = keys.github_node_id(subject)
    if node_id is not None:
        ticket = step.session.scalars(select(Ticket).where(Ticket.node_id == node_id).limit(1)).first()
        if ticket is None:
            log.warning(
                "%s: no known issue has node id %s; the change is kept in the inbox only", step.event.kind, node_id
            )
        return ticket
    return step.session.get(Ticket, subject)


def _stub(step: Step, key: str, title: str = "") -> Ticket:
    """A ticket known only by reference (an epic named as a parent); its own events fill it in later."""
    ticket = Ticket(key=key, source=step.event.source, title=title, state="open", is_epic=False)
    # Deliveries of other subjects may name the same new ticket at once (two children of one new epic).
    return insert_once(step.session, ticket, lambda: step.session.get(Ticket, key))[0]


def _ensure_epic(step: Step, ticket: Ticket) -> None:
    ticket.is_epic = True
    if step.session.get(Epic, ticket.key) is None:
        insert_once(step.session, Epic(key=ticket.key, phase="ex-ante"), lambda: step.session.get(Epic, ticket.key))


def _has_children(step: Step, key: str) -> bool:
    return bool(step.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.epic_key == key)))


def apply_snapshot(step: Step) -> list[Event]:
    """ticket.created / updated / closed / reopened / deleted: the event's data is the ticket as the tracker has it."""
    event, report = step.event, step.reported(TicketReport)
    ticket = step.session.get(Ticket, event.subject)
    if ticket is not None and is_stale(ticket.source_updated_at, event.occurred_at):
        log.info("%s %s is older than the stored state; recorded, not applied", event.kind, event.subject)
        return []
    # A ticket first known by reference (a stub) is still first seen when its own snapshot arrives.
    first_seen = once_keys.claim(step.session, once.ticket_created(event.subject))
    if ticket is None:
        ticket = _stub(step, event.subject)
    before = {name: getattr(ticket, name) for name in (*_TEXT_FIELDS, "state", "is_epic")}
    for name in _TEXT_FIELDS:
        if getattr(report, name) is not None:
            setattr(ticket, name, getattr(report, name))
    if report.node_id:
        ticket.node_id = report.node_id
    if report.estimates is not None and step.settings is not None:
        # A full field set: a field left out is a field cleared (Jira sends every field, null included).
        ticket.story_points = report.estimates.get(step.settings.jira_story_points_field)
    state = "deleted" if event.kind == Kind.TICKET_DELETED else report.state or ticket.state
    ticket.state = state
    if report.is_epic or (ticket.is_epic and _has_children(step, ticket.key)):
        _ensure_epic(step, ticket)
    elif report.says("is_epic"):
        ticket.is_epic = False
    ticket.source_updated_at = later(ticket.source_updated_at, event.occurred_at)
    step.session.flush()

    result: list[Event] = []
    # The description rides on the domain event (hypothesis blocks are parsed from it) but not in the log.
    now = TicketChange(
        title=ticket.title,
        url=ticket.url,
        is_epic=ticket.is_epic,
        state=ticket.state,
        description=ticket.description,
        epic=ticket.epic_key,
    )
    if first_seen:
        result.append(step.record(Kind.TICKET_CREATED, ticket.key, now))
        if ticket.state in ("closed", "deleted"):
            result.append(step.record(_STATE_KINDS[ticket.state], ticket.key, now))
    else:
        if state != before["state"]:
            result.append(step.record(_STATE_KINDS.get(state, Kind.TICKET_UPDATED), ticket.key, now))
        changed = [name for name in (*_TEXT_FIELDS, "is_epic") if getattr(ticket, name) != before[name]]
        details = now.model_copy(update={"changed": changed})
        # Title, description (hypothesis blocks live there) and epic-ness are value-relevant; url and type are not.
        if {"title", "description", "is_epic"} & set(changed):
            result.append(step.record(Kind.TICKET_UPDATED, ticket.key, details))
        elif changed:
            result.append(step.derive(Kind.TICKET_UPDATED, ticket.key, details))

    if ticket.state == "deleted":
        return result
    if report.labels is not None:
        result += labels.replace_all(step, ticket.key, report.labels)
    if report.says("epic"):
        result += link_epic(step, ticket, report.epic, report.parent.title if report.parent else "")
    if report.iterations is not None and report.iteration_scope:
        result += iterations.replace_all(step, ticket.key, report.iterations, report.iteration_scope)
    return result


def link_epic(step: Step, ticket: Ticket, epic_key: str | None, epic_title: str = "") -> list[Event]:
    if ticket.epic_key == epic_key:
        return []
    result: list[Event] = []
    if ticket.epic_key:
        result.append(step.record(Kind.EPIC_UNLINKED, ticket.key, EpicChange(epic=ticket.epic_key)))
    ticket.epic_key = epic_key
    if epic_key:
        epic = step.session.get(Ticket, epic_key) or _stub(step, epic_key, epic_title)
        _ensure_epic(step, epic)
        result.append(step.record(Kind.EPIC_LINKED, ticket.key, EpicChange(epic=epic_key)))
    return result


def _explicit(step: Step) -> Ticket | None:
    """The ticket of an explicit change (label, epic, iteration), or None when it is stale or unknown."""
    ticket = resolve(step)
    if ticket is None and keys.github_node_id(step.event.subject) is None:
        ticket = _stub(step, step.event.subject)
    if ticket is None or is_stale(ticket.source_updated_at, step.event.occurred_at):
        return None
    ticket.source_updated_at = later(ticket.source_updated_at, step.event.occurred_at)
    return ticket


def apply_label(step: Step) -> list[Event]:
    ticket = _explicit(step)
    if ticket is None:
        return []
    name = step.reported(LabelChange).label
    if step.event.kind == Kind.LABEL_ADDED:
        return labels.add(step, ticket.key, name)
    return labels.remove(step, ticket.key, name)


def apply_epic_link(step: Step) -> list[Event]:
    ticket = _explicit(step)
    if ticket is None:
        return []
    epic_key = step.reported(EpicChange).epic
    if step.event.kind == Kind.EPIC_LINKED:
        return link_epic(step, ticket, epic_key)
    return link_epic(step, ticket, None) if ticket.epic_key == epic_key else []


def apply_membership(step: Step) -> list[Event]:
    ticket = _explicit(step)
    if ticket is None:
        return []
    iteration = step.reported(PlacementReport).iteration
    if step.event.kind == Kind.ITERATION_JOINED:
        return iterations.join(step, ticket.key, iteration)
    return iterations.leave(step, ticket.key, iteration.key)
