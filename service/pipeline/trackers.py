"""Trackers the service has heard from (a GitHub `ping` names the repository or organisation)."""

from __future__ import annotations

from sqlalchemy import select

from service.domain.events import Event
from service.domain.payloads import Ping
from service.pipeline.context import Step
from service.storage.insert_once import insert_once
from service.storage.models import Tracker


def apply_ping(step: Step) -> list[Event]:
    event = step.event
    name = step.reported(Ping).tracker
    query = select(Tracker).where(Tracker.kind == event.source, Tracker.name == name)
    if step.session.scalars(query).first() is None:
        # Safe without the queue's order per subject too (deliveries stored before it have no partition key).
        insert_once(step.session, Tracker(kind=event.source, name=name), lambda: step.session.scalars(query).first())
    return [event]
