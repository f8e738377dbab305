"""Every kind of domain event and value-log entry, declared once: one dotted, past-tense vocabulary (DESIGN.md).

Domain events, value-log entries and rules' `on` (glob patterns allowed) all use these names. A `Kind` is a `str`,
so it compares equal to its text, is written to the log as text, and packs match it with fnmatch.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    # Tickets (issues) as the trackers report them.
    TICKET_CREATED = "ticket.created"  # a ticket was seen for the first time (also one first known by reference)
    TICKET_UPDATED = "ticket.updated"  # its title, description or epic-ness changed
    TICKET_CLOSED = "ticket.closed"  # it was closed (done)
    TICKET_REOPENED = "ticket.reopened"  # a closed ticket was opened again
    TICKET_DELETED = "ticket.deleted"  # it was deleted, or moved to another repository
    # Labels on tickets.
    LABEL_ADDED = "label.added"  # a label was put on a ticket (also those it already had when first seen)
    LABEL_REMOVED = "label.removed"  # a label was taken off
    LABEL_UNKNOWN = "label.unknown"  # a value label names no known dimension; carries the closest slug
    # Epics.
    EPIC_LINKED = "epic.linked"  # a ticket became a child of an epic
    EPIC_UNLINKED = "epic.unlinked"  # it stopped being one
    EPIC_PHASE_CHANGED = "epic.phase_changed"  # the epic moved ex-ante -> during -> ex-post (or back to during)
    # Iterations (sprints, milestones, Projects iterations) and the work in them.
    ITERATION_CREATED = "iteration.created"  # an iteration became known
    ITERATION_UPDATED = "iteration.updated"  # its name or dates changed
    ITERATION_STARTED = "iteration.started"  # it became active
    ITERATION_CLOSED = "iteration.closed"  # it was completed
    ITERATION_DELETED = "iteration.deleted"  # it was deleted in the tracker
    ITERATION_JOINED = "iteration.joined"  # a ticket was put into an iteration
    ITERATION_LEFT = "iteration.left"  # a ticket was taken out of one
    # Conversation and trackers.
    COMMENT_CREATED = "comment.created"  # someone commented on a ticket (where `/value` answers come from)
    TRACKER_PINGED = "tracker.pinged"  # a tracker's webhook was set up (GitHub `ping`)
    # Value hypotheses and their measures.
    HYPOTHESIS_CREATED = "hypothesis.created"  # a hypothesis was stated on an epic
    HYPOTHESIS_UPDATED = "hypothesis.updated"  # fields, phase, status or confidence changed (old and new kept)
    HYPOTHESIS_RETIRED = "hypothesis.retired"  # it was retired, with the reason
    HYPOTHESIS_INVALID = "hypothesis.invalid"  # a block in an epic could not be read; the errors with their lines
    READING_RECORDED = "reading.recorded"  # a value of a hypothesis's measure was observed
    # Rules and what they did.
    RULE_FIRED = "rule.fired"  # a rule acted on an event; the pack's sha256 says which version
    RULE_FAILED = "rule.failed"  # a rule's action failed; rolled back alone, the other rules still ran
    VALUE_ALERT = "value.alert"  # a rule raised an alert (co-destruction, divergence, ...) on an epic
    # Check-ins with stakeholders.
    CHECKIN_OPENED = "checkin.opened"  # a round of check-ins was opened for a hypothesis in an iteration
    CHECKIN_PROMPTED = "checkin.prompted"  # a stakeholder was asked (a commitment to the contact, never the contact)
    CHECKIN_REMINDED = "checkin.reminded"  # a stakeholder who had not answered was reminded, once
    CHECKIN_ANSWERED = "checkin.answered"  # a stakeholder answered (the score; commitments to the texts)
    CHECKIN_REFUSED = "checkin.refused"  # a `/value` comment was not counted (not a stakeholder, unreadable, ...)
    CHECKIN_CLOSED = "checkin.closed"  # a round reached its deadline, with its response rate
    CHECKIN_UNREACHABLE = "checkin.unreachable"  # a group the hypothesis names had nobody to ask in a round
    # Stakeholders: people and bodies asked for check-ins.
    STAKEHOLDER_ADDED = "stakeholder.added"  # someone was added, with their group (their contacts as commitments)
    STAKEHOLDER_UPDATED = "stakeholder.updated"  # their group, channels or scope changed
    STAKEHOLDER_ASSIGNED = "stakeholder.assigned"  # they were assigned to a hypothesis
    STAKEHOLDER_UNASSIGNED = "stakeholder.unassigned"  # they were taken off it
    STAKEHOLDER_ERASED = "stakeholder.erased"  # their personal data and texts were erased; scores and group kept
    # Access and operation.
    TOKEN_CREATED = "token.created"  # an API token was made (its name and role, never the secret)
    TOKEN_REVOKED = "token.revoked"  # an API token was revoked
    OUTBOX_RETRIED = "outbox.retried"  # someone sent a dead, failed or skipped outbound action again
    DELIVERY_FAILED = "delivery.failed"  # a delivery could not be processed and will not be retried by itself
    # What the clock hands to scheduled rules, one event per item they run over.
    CLOCK_OPEN_ROUND = "clock.open_round"  # an open check-in round, at a scheduled rule's fire time
    CLOCK_ACTIVE_ITERATION = "clock.active_iteration"  # an active iteration, likewise


def known_kinds() -> list[str]:
    return sorted(kind.value for kind in Kind)
