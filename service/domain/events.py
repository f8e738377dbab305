"""Domain events: what happened, in tracker-neutral words. Nothing after the integrations boundary reads vendor JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

# One dotted, past-tense vocabulary shared by domain events, value-log kinds and rules' `on` (DESIGN.md).
TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_CLOSED = "ticket.closed"
TICKET_REOPENED = "ticket.reopened"
TICKET_DELETED = "ticket.deleted"
LABEL_ADDED = "label.added"
LABEL_REMOVED = "label.removed"
LABEL_UNKNOWN = "label.unknown"
EPIC_LINKED = "epic.linked"
EPIC_UNLINKED = "epic.unlinked"
ITERATION_CREATED = "iteration.created"
ITERATION_UPDATED = "iteration.updated"
ITERATION_STARTED = "iteration.started"
ITERATION_CLOSED = "iteration.closed"
ITERATION_DELETED = "iteration.deleted"
ITERATION_JOINED = "iteration.joined"
ITERATION_LEFT = "iteration.left"
COMMENT_CREATED = "comment.created"
DELIVERY_FAILED = "delivery.failed"
TRACKER_PINGED = "tracker.pinged"
HYPOTHESIS_CREATED = "hypothesis.created"
HYPOTHESIS_UPDATED = "hypothesis.updated"
HYPOTHESIS_RETIRED = "hypothesis.retired"
HYPOTHESIS_INVALID = "hypothesis.invalid"
RULE_FIRED = "rule.fired"
RULE_FAILED = "rule.failed"
CHECKIN_PROMPTED = "checkin.prompted"
CHECKIN_ANSWERED = "checkin.answered"


def _frozen(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True)
class Event:
    """One thing that happened, normalised.

    `subject` is a tracker-qualified key (`jira:PROJ-12`, `github:owner/repo#34`, `jira:sprint/37`).
    `occurred_at` is the tracker's own clock (Jira: body `timestamp`; GitHub: the object's `updated_at`), used so an
    older event never overwrites newer state. `data` carries the kind's details (see each integration's events.py).
    """

    kind: str
    source: str
    subject: str
    actor: str
    occurred_at: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _frozen(self.data))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "subject": self.subject,
            "actor": self.actor,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class Ignored:
    """A delivery understood and deliberately not acted on, with the reason kept on the inbox row."""

    reason: str
