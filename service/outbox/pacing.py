"""Pacing shared by all workers, kept in the database: per tracker one write at a time, a second apart, rate limits
honoured; per channel (e-mail, outbound webhooks) a number of sends a second.

The two differ on purpose. A tracker is one API with one rate limit for this service's account, and its guidance
for writes is one at a time. E-mails and webhooks go to many recipients: they may go out side by side, as long as
the channel's rate (PVM_EMAIL_PER_SECOND, PVM_WEBHOOK_PER_SECOND) holds across all workers, so a round of 10,000
e-mails takes minutes at the default 10 a second, not the three hours one a second would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from service.storage.models import TrackerPacing

# GitHub's guidance for mutating calls (secondary rate limits): one at a time, at least a second apart. Every
# tracker gets the same pace; 3,600 writes an hour is far more than a team's replies and summaries need.
WRITE_INTERVAL = timedelta(seconds=1)

T = TypeVar("T")


def _locked(session: Session, name: str, now: datetime) -> TrackerPacing | None:
    """The pacing row of a tracker or channel, locked by this transaction; None while another worker holds it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            pg_insert(TrackerPacing)
            .values(tracker=name, next_write_at=now, reason=None)
            .on_conflict_do_nothing(index_elements=["tracker"])
        )
        # SKIP LOCKED: a worker already deciding for this tracker owns it for this round.
        return session.scalars(
            select(TrackerPacing).where(TrackerPacing.tracker == name).with_for_update(skip_locked=True)
        ).first()
    # SQLite: BEGIN IMMEDIATE already serialises every writer
    pacing = session.get(TrackerPacing, name)
    if pacing is None:
        pacing = TrackerPacing(tracker=name, next_write_at=now)
        session.add(pacing)
    return pacing


def take_slot(session: Session, tracker: str, now: datetime, until: datetime, reason: str) -> bool:
    """Reserve the tracker's write slot until `until`; False while another write is in flight or a wait applies."""
    pacing = _locked(session, tracker, now)
    if pacing is None or pacing.next_write_at > now:
        return False
    pacing.next_write_at, pacing.reason = until, reason
    session.flush()
    return True


def take_sends(
    session: Session, channel: str, now: datetime, rate: float, wanted: int, select_rows: Callable[[int], Sequence[T]]
) -> Sequence[T]:
    """Up to `wanted` rows a channel may send now at `rate` a second, across all workers; none while it is ahead.

    The rows taken book the channel's time: n rows at time t move its next send to t + n / rate. A worker taking
    a second's worth at once (`wanted` about `rate`) sends them back to back and the next batch waits its turn, so
    over any stretch of time the channel sends at most `rate` a second plus one batch.
    """
    pacing = _locked(session, channel, now)
    if pacing is None or pacing.next_write_at > now:
        return []
    rows = select_rows(wanted)
    if rows:
        pacing.next_write_at, pacing.reason = now + timedelta(seconds=len(rows) / rate), None
        session.flush()
    return rows


def release_slot(session: Session, tracker: str, not_before: datetime, reason: str | None = None) -> None:
    """After a write: the next may start at `not_before` (a second on, or when the tracker's limit resets)."""
    pacing = session.get(TrackerPacing, tracker)
    if pacing is None:
        session.add(TrackerPacing(tracker=tracker, next_write_at=not_before, reason=reason))
    else:
        pacing.next_write_at, pacing.reason = not_before, reason
    session.flush()
