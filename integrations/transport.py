"""Translating `requests` transport errors (shared by every client) into tracker failures."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from integrations.failures import Transient

# Connect timeout (seconds) for every tracker call; the read timeout is PVM_TRACKER_TIMEOUT. A call without a
# timeout can hang a worker forever.
CONNECT_TIMEOUT = 5.0


def transport_failure(exc: requests.RequestException, tracker: str, *, write: bool) -> Transient:
    """A request that got no HTTP answer. Only a failure to connect proves nothing reached the tracker."""
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return Transient(f"{tracker}: could not connect ({type(exc).__name__}); will retry", maybe_sent=False)
    if isinstance(exc, requests.Timeout):
        what = "no answer within the timeout after the request was sent"
    else:
        what = f"connection failed after the request was sent ({type(exc).__name__})"
    return Transient(f"{tracker}: {what}; will retry", maybe_sent=write)


def _never_connected(exc: requests.RequestException) -> bool:
    """urllib3 reports a refused or unresolvable connection as NewConnectionError somewhere in the cause chain."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        cause = pending.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if type(cause).__name__ in ("NewConnectionError", "NameResolutionError"):
            return True
        if isinstance(cause, BaseException):
            pending += [getattr(cause, "reason", None), cause.__cause__, cause.__context__, *cause.args]
    return False


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def epoch_to_datetime(value: str | None) -> datetime | None:
    """`X-RateLimit-Reset` (GitHub, GitLab): seconds since the epoch."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None
