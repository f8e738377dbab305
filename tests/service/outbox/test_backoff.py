"""Outbox retry timing: exponential backoff with jitter, capped, and the tracker's own wait winning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from service.outbox.backoff import BASE_DELAY, MAX_DELAY, backoff_delay, next_attempt

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 5, 8, 12])
def test_delay_doubles_per_try_with_jitter_and_a_cap(attempts: int) -> None:
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
    delays = [backoff_delay(attempts, random.Random(seed)) for seed in range(50)]
    assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
    assert len({round(d, 6) for d in delays}) > 40  # jitter: workers retrying together spread out


def test_the_trackers_wait_wins_over_backoff() -> None:
    rng = random.Random(1)
    assert next_attempt(NOW, 5, rng, retry_after=90) == NOW + timedelta(seconds=90)
    reset = NOW + timedelta(minutes=10)
    assert next_attempt(NOW, 5, rng, retry_after=None, reset_at=reset) == reset + timedelta(seconds=1)
    # A reset already past (clock skew) still waits a moment rather than retrying in the same instant.
    assert next_attempt(NOW, 1, rng, reset_at=NOW - timedelta(minutes=1)) == NOW + timedelta(seconds=1)
