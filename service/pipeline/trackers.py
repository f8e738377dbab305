"""Trackers the service has heard from (a GitHub `ping` names the repository or organisation)."""

from __future__ import annotations

from sqlalchemy import select

from service.domain.events import Event
from service.pipeline.context import Step
from service.storage.models import Tracker


def apply_ping(step: Step) -> list[Event]:
    event = step.event
    name = str(event.data.get("tracker") or event.subject)
    found = step.session.scalars(select(Tracker).where(Tracker.kind == event.source, Tracker.name == name)).first()
    if found is None:
        step.session.add(Tracker(kind=event.source, name=name))
    return [event]
