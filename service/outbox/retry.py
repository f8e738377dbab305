"""Operators revive outbox rows that gave up (dead), were skipped, or are waiting (failed): back to pending."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from service import valuelog
from service.domain.kinds import Kind
from service.storage.models import OutboxItem, utcnow

log = logging.getLogger(__name__)

RETRYABLE_BY_OPERATOR = ("dead", "failed", "skipped")


class RetryError(LookupError):
    """The row does not exist or is not in a state a retry makes sense for; the message says which."""


def retry(session: Session, item_id: int, *, actor: str) -> OutboxItem:
    """Back to `pending`, due now, with a fresh set of tries. The marker check still applies if it may have gone."""
    item = session.get(OutboxItem, item_id)
    if item is None:
        raise RetryError(f"no outbox item {item_id}; list them with GET /api/v1/outbox")
    if item.status not in RETRYABLE_BY_OPERATOR:
        raise RetryError(
            f"outbox item {item_id} is {item.status}; only {', '.join(RETRYABLE_BY_OPERATOR)} items can be retried"
        )
    previous, error = item.status, item.error
    item.status, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
    item.lease_until = item.finished_at = None
    valuelog.append(
        session,
        kind=Kind.OUTBOX_RETRIED,
        subject=f"outbox:{item.id}",
        data={"tracker": item.tracker, "action": item.action, "target": item.target, "was": previous, "error": error},
        actor=actor,
        source="operator",
    )
    log.info("outbox %s: %s -> pending, retried by %s (was: %s)", item.id, previous, actor, error)
    return item
