"""What one pipeline step needs: the session, the taxonomy, the event being applied, and the ordering rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rules.taxonomy import Taxonomy
from service.domain.events import Event
from service.valuelog import chain


@dataclass
class Step:
    session: Session
    taxonomy: Taxonomy
    event: Event

    def derive(self, kind: str, subject: str, data: dict[str, Any]) -> Event:
        """A domain event that actually happened because of `event` (returned so rules can run over it)."""
        return Event(kind, self.event.source, subject, self.event.actor, self.event.occurred_at, data)

    def record(self, kind: str, subject: str, data: dict[str, Any], extra: dict[str, Any] | None = None) -> Event:
        """Write a value-log entry in the caller's transaction and return the matching domain event.

        `extra` goes on the returned event only (e.g. a long description the log need not repeat).
        """
        logged = dict(data)
        if self.event.occurred_at is not None:
            logged.setdefault("occurred_at", self.event.occurred_at)
        chain.append(
            self.session, kind=kind, subject=subject, data=logged, actor=self.event.actor, source=self.event.source
        )
        return self.derive(kind, subject, {**data, **(extra or {})})


def is_stale(state_clock: datetime | None, event_clock: datetime | None) -> bool:
    """Older than what the state already reflects. On a tie the later arrival wins, so a tie is not stale."""
    return state_clock is not None and event_clock is not None and event_clock < state_clock


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
