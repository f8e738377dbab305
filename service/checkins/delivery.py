"""Whether a prompt (or its reminder) reached its person: the status of the outbox row that carries it."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from service.storage.models import CheckinPrompt, OutboxItem

Delivery = Literal["delivered", "recorded", "pending", "undelivered", "not sent"]

# A failed row is still retried, but the person has not been reached yet: a page that says "undelivered" while the
# outbox tries again is right, and says so sooner than waiting for the last try.
UNDELIVERED = ("failed", "dead", "skipped")


def of(session: Session, prompt: CheckinPrompt, *, reminder: bool = False) -> Delivery:
    """`not sent`: no outbox row carries it (a link handed over in person, or no reminder was due)."""
    row_id = prompt.reminder_outbox_id if reminder else prompt.outbox_id
    row = session.get(OutboxItem, row_id) if row_id is not None else None
    return status_of(row)


def status_of(row: OutboxItem | None) -> Delivery:
    if row is None:
        return "not sent"
    if row.status == "sent":
        return "delivered"
    if row.status == "recorded":
        return "recorded"
    if row.status in UNDELIVERED:
        return "undelivered"
    return "pending"
