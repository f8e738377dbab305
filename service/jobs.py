"""Idempotent scheduled work: a job runs at most once per key, however many clocks or re-runs there are."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from service.runtime import Runtime
from service.storage.models import ClockRun

log = logging.getLogger(__name__)


def run_once(runtime: Runtime, key: str, job: Callable[[Runtime], Any]) -> bool:
    """Run `job` unless a run with this key is recorded; False when it had already run."""
    try:
        with runtime.transaction() as session:
            session.add(ClockRun(key=key))
    except IntegrityError:
        log.info("clock: %s already ran", key)
        return False
    try:
        job(runtime)
    except Exception:
        # Forget the key, so the next tick tries again instead of the work being lost for good.
        with runtime.transaction() as session:
            session.execute(delete(ClockRun).where(ClockRun.key == key))
        raise
    return True
