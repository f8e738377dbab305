"""The inbox: every webhook delivery stored raw and deduplicated before it is acknowledged, then processed."""

from service.inbox.processing import claim, process, process_due, replay
from service.inbox.store import Stored, store

__all__ = ["Stored", "claim", "process", "process_due", "replay", "store"]
