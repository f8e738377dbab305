"""When to try a failed outbox row again: exponential backoff with jitter, or what the tracker asked for."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_ATTEMPTS = 8  # then the row is dead: visible in the API, `pvm outbox retry ID` revives it
BASE_DELAY = 30.0  # seconds before the second try
MAX_DELAY = 3600.0


def backoff_delay(attempts: int, rng: random.Random) -> float:
    """30 s, 60 s, 120 s ... capped at an hour, each scaled by a random 0.5-1.0 so retries do not stampede."""
    exponential = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return exponential * rng.uniform(0.5, 1.0)


def next_attempt(
    now: datetime,
    attempts: int,
    rng: random.Random,
    retry_after: float | None = None,
    reset_at: datetime | None = None,
) -> datetime:
    """The tracker's own wait (Retry-After, rate-limit reset) wins over our backoff when it says."""
    if reset_at is not None:
        return max(reset_at + timedelta(seconds=1), now + timedelta(seconds=1))
    if retry_after is not None:
        return now + timedelta(seconds=max(1.0, retry_after))
    return now + timedelta(seconds=backoff_delay(attempts, rng))
