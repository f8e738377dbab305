"""When to try a failed outbox row again: what the tracker asked for, else the work queue's backoff with jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from service.workqueue import Backoff

MAX_ATTEMPTS = 8  # then the row is dead: visible in the API, `pvm outbox retry ID` revives it
# 15-30 s before the second try, then about twice as long each time, capped at an hour.
BACKOFF = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=1))


def tracker_wait(now: datetime, retry_after: float | None = None, reset_at: datetime | None = None) -> datetime | None:
    """The time the tracker named (Retry-After, rate-limit reset): it wins over our backoff. None if it named none."""
    if reset_at is not None:
        return max(reset_at + timedelta(seconds=1), now + timedelta(seconds=1))
    if retry_after is not None:
        return now + timedelta(seconds=max(1.0, retry_after))
    return None


def next_attempt(
    now: datetime,
    attempts: int,
    rng: random.Random,
    retry_after: float | None = None,
    reset_at: datetime | None = None,
) -> datetime:
    return tracker_wait(now, retry_after, reset_at) or now + BACKOFF.delay(attempts, rng)
