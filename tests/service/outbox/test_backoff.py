"""Outbox retry timing: exponential backoff with jitter, capped at an hour, and the tracker's own wait winning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from service.outbox.backoff import BACKOFF, next_attempt

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 5, 8, 12])
def test_delay_doubles_per_try_with_jitter_and_a_cap(attempts: int) -> None:
    ceiling = min(3600.0, 30.0 * 2 ** (attempts - 1))
    waits = [(next_attempt(NOW, attempts, random.Random(seed)) - NOW).total_seconds() for seed in range(50)]
    assert all(ceiling * 0.5 <= wait <= ceiling for wait in waits)
    assert len({round(wait, 6) for wait in waits}) > 40  # jitter: workers retrying together spread out
    assert BACKOFF.cap == timedelta(hours=1)


def test_the_trackers_wait_wins_over_backoff() -> None:
    rng = random.Random(1)
    assert next_attempt(NOW, 5, rng, retry_after=90) == NOW + timedelta(seconds=90)
    reset = NOW + timedelta(minutes=10)
    assert next_attempt(NOW, 5, rng, retry_after=None, reset_at=reset) == reset + timedelta(seconds=1)
    # A reset already past (clock skew) still waits a moment rather than retrying in the same instant.
    assert next_attempt(NOW, 1, rng, reset_at=NOW - timedelta(minutes=1)) == NOW + timedelta(seconds=1)
