"""Which client acts for a tracker: the recording one in dry run, else the integration's own (or why none)."""

from __future__ import annotations

import logging

from integrations import registry
from integrations.base import MakeClient, TrackerClient
from integrations.recording import RecordingClient
from service.config import Settings

log = logging.getLogger(__name__)

# How many recorded calls a dry-run worker remembers: the outbox rows keep every body, so memory need not.
RECORDED_CALLS_KEPT = 1000


def factory_for(tracker: str) -> MakeClient | str:
    factory: MakeClient | None = None
    try:
        factory = registry.get(tracker).make_client
    except registry.UnknownTracker as exc:
        reason = str(exc)
    else:
        reason = f"the {tracker} integration provides no client"
    return factory if factory is not None else reason


def client_for(settings: Settings, tracker: str) -> TrackerClient | str:
    """A client, or the reason there is none (kept on `skipped` rows)."""
    if settings.outbound == "record":
        return RecordingClient(tracker, keep=RECORDED_CALLS_KEPT)
    factory = factory_for(tracker)
    if isinstance(factory, str):
        return factory
    return factory(settings)
