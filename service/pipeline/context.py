"""What one pipeline step needs: the session, the taxonomy, the event being applied, and the ordering rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from service.config import Settings
from service.domain.events import Event
from service.domain.payloads import Payload
from service.domain.taxonomy import Taxonomy
from service.valuelog import chain

P = TypeVar("P", bound=Payload)


@dataclass
class Step:
    session: Session
    taxonomy: Taxonomy
    event: Event
    settings: Settings | None = None  # None only in tests that apply bare events

    def reported(self, model: type[P]) -> P:
        """The event's payload as the integration reported it; anything else is a bug in the integration."""
        data = self.event.data
        if not isinstance(data, model):
            raise TypeError(f"{self.event.kind} must carry a {model.__name__}, not a {type(data).__name__}")
        return data

    def derive(self, kind: str, subject: str, data: Payload) -> Event:
        """A domain event that actually happened because of `event` (returned so rules can run over it)."""
        return Event(kind, self.event.source, subject, self.event.actor, self.event.occurred_at, data)

    def record(self, kind: str, subject: str, data: Payload) -> Event:
        """Write a value-log entry in the caller's transaction and return the matching domain event.

        The entry holds `data.logged()` (a payload may keep fields for the rules only, e.g. a long description)
        and when the tracker said it happened.
        """
        logged = data.logged()
        if self.event.occurred_at is not None:
            logged.setdefault("occurred_at", self.event.occurred_at)
        chain.append(
            self.session, kind=kind, subject=subject, data=logged, actor=self.event.actor, source=self.event.source
        )
        return self.derive(kind, subject, data)


def is_stale(state_clock: datetime | None, event_clock: datetime | None) -> bool:
    """Older than what the state already reflects. On a tie the later arrival wins, so a tie is not stale."""
    return state_clock is not None and event_clock is not None and event_clock < state_clock


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
