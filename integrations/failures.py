"""How a tracker call can fail, in tracker-neutral words the outbox dispatcher decides on.

Clients translate their library's exceptions into these (and never let a library exception, whose text may
carry request headers, reach a log).
"""

from __future__ import annotations

from datetime import datetime


class TrackerFailure(Exception):
    """A call to a tracker did not succeed. `maybe_sent`: the request may have reached the tracker and been acted
    on (timeout after sending, connection reset, 5xx), so a retry must look for the comment's marker first."""

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.maybe_sent = maybe_sent


class Unauthorised(TrackerFailure):
    """Wrong or insufficient credentials: retrying cannot help; the message names the setting to fix."""


class Rejected(TrackerFailure):
    """The tracker refused this action for good (issue not found, invalid label, ...): retrying cannot help."""


class RateLimited(TrackerFailure):
    """The tracker asked us to slow down: wait `retry_after` seconds, or until `reset_at`, before any write."""

    def __init__(self, message: str, *, retry_after: float | None = None, reset_at: datetime | None = None) -> None:
        super().__init__(message, maybe_sent=False)  # a rate-limited request was not processed
        self.retry_after = retry_after
        self.reset_at = reset_at


class Transient(TrackerFailure):
    """A failure worth retrying later (5xx, connection reset, timeout); `retry_after` when the tracker said."""

    def __init__(self, message: str, *, maybe_sent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message, maybe_sent=maybe_sent)
        self.retry_after = retry_after
