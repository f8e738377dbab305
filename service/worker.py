"""The worker: drains the inbox and the outbox until told to stop; many workers may run side by side."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from service.runtime import Runtime

log = logging.getLogger(__name__)

# A drain does one bounded batch of work and returns how much it did (0 = nothing due).
Drain = Callable[[Runtime], int]


def default_drains() -> list[Drain]:
    """Every kind of queued work, in the order one pass visits it."""
    from service import inbox
    from service.outbox.dispatch import dispatch_due

    # Inbox first: processing a delivery is what queues most outbox actions.
    return [inbox.process_due, dispatch_due]


@dataclass
class Worker:
    runtime: Runtime
    drains: list[Drain] = field(default_factory=default_drains)
    idle_seconds: float = 0.5
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run_once(self) -> int:
        done = 0
        for drain in self.drains:
            try:
                done += drain(self.runtime)
            except Exception:  # one broken drain must not stop the others; each records its own errors
                log.exception("worker: %s failed; continuing", getattr(drain, "__name__", drain))
        return done

    def run(self) -> None:
        log.info("worker started")
        while not self.stop_event.is_set():
            if self.run_once() == 0:
                self.stop_event.wait(self.idle_seconds)
        log.info("worker stopped")

    def stop(self) -> None:
        self.stop_event.set()
