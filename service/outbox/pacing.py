"""Per-tracker pacing shared by all workers: one write at a time, a second apart, rate limits honoured."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from service.storage.models import TrackerPacing

# GitHub's guidance for mutating calls (secondary rate limits): one at a time, at least a second apart. Every
# tracker gets the same pace; 3,600 writes an hour is far more than a team's replies and summaries need.
WRITE_INTERVAL = timedelta(seconds=1)


def take_slot(session: Session, tracker: str, now: datetime, until: datetime, reason: str) -> bool:
    """Reserve the tracker's write slot until `until`; False while another write is in flight or a wait applies."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            pg_insert(TrackerPacing)
            .values(tracker=tracker, next_write_at=now, reason=None)
            .on_conflict_do_nothing(index_elements=["tracker"])
        )
        # SKIP LOCKED: a worker already deciding for this tracker owns it for this round.
        pacing = session.scalars(
            select(TrackerPacing).where(TrackerPacing.tracker == tracker).with_for_update(skip_locked=True)
        ).first()
        if pacing is None:
            return False
    else:  # SQLite: BEGIN IMMEDIATE already serialises every writer
        pacing = session.get(TrackerPacing, tracker)
        if pacing is None:
            pacing = TrackerPacing(tracker=tracker, next_write_at=now)
            session.add(pacing)
    if pacing.next_write_at > now:
        return False
    pacing.next_write_at, pacing.reason = until, reason
    session.flush()
    return True


def release_slot(session: Session, tracker: str, not_before: datetime, reason: str | None = None) -> None:
    """After a write: the next may start at `not_before` (a second on, or when the tracker's limit resets)."""
    pacing = session.get(TrackerPacing, tracker)
    if pacing is None:
        session.add(TrackerPacing(tracker=tracker, next_write_at=not_before, reason=reason))
    else:
        pacing.next_write_at, pacing.reason = not_before, reason
    session.flush()
