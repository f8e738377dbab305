"""Domain events: what happened, in tracker-neutral words. Nothing after the integrations boundary reads vendor JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.domain.kinds import Kind
from service.domain.payloads import Payload, recorded


@dataclass(frozen=True)
class Event:
    """One thing that happened, normalised.

    `kind` is one of `Kind`. `subject` is a tracker-qualified key (`jira:PROJ-12`, `github:owner/repo#34`,
    `jira:sprint/37`) or an internal one (`hypothesis:7`). `occurred_at` is the tracker's own clock (Jira: the body's
    `timestamp`; GitHub: the object's `updated_at`), so an older event never overwrites newer state. `data` is the
    kind's typed payload (`service.domain.payloads`); plain data given instead is read as the kind's recorded
    payload, as tests and `pvm rules test` write events.
    """

    kind: str
    source: str
    subject: str
    actor: str
    occurred_at: datetime | None = None
    data: Payload = field(default_factory=Payload)

    def __post_init__(self) -> None:
        if isinstance(self.data, Mapping):
            object.__setattr__(self, "data", recorded(self.kind, self.data))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "source": self.source,
            "subject": self.subject,
            "actor": self.actor,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "data": self.data.plain(),
        }


@dataclass(frozen=True)
class Ignored:
    """A delivery understood and deliberately not acted on, with the reason kept on the inbox row."""

    reason: str


__all__ = ["Event", "Ignored", "Kind"]
