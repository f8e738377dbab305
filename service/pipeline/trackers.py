"""Trackers the service has heard from (a GitHub `ping` names the repository or organisation)."""

from __future__ import annotations

from sqlalchemy import select

from service.domain.events import Event
from service.domain.payloads import Ping
from service.pipeline.context import Step
from service.storage.models import Tracker


def apply_ping(step: Step) -> list[Event]:
    event = step.event
    name = step.reported(Ping).tracker
    found = step.session.scalars(select(Tracker).where(Tracker.kind == event.source, Tracker.name == name)).first()
    if found is None:
        step.session.add(Tracker(kind=event.source, name=name))
    return [event]
