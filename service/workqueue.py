"""One work queue for the inbox and the outbox: due rows leased to one worker, retried with backoff, then dead.

A row is `pending`, then leased (`processing` in the inbox, `sending` in the outbox) to the worker that claimed it,
which records the outcome. A failed try makes it `failed` and due again after an exponential backoff with jitter;
after the last try it is `dead`. A lease that expires (its worker was killed) makes the row claimable again.

Rows that share a partition key (the inbox's subject: a ticket, epic or iteration) are handed out one at a time,
in order of receipt, the way a partitioned log keeps order per key: a row is claimable only while no earlier row of
its key is unfinished and no other row of its key is being worked on. Rows without a key are claimed freely.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, exists, literal, or_, select
from sqlalchemy.orm import Session, aliased

from service.storage.models import Delivery, OutboxItem

Row = TypeVar("Row", Delivery, OutboxItem)

RETRYABLE = ("pending", "failed")
DEAD = "dead"


@dataclass(frozen=True)
class Backoff:
    """base, 2 x base, 4 x base ... up to `cap`, each scaled by a random 0.5-1.0: rows that failed together (an
    outage) come back spread out instead of all at once, and never sooner than half the nominal wait."""

    base: timedelta
    cap: timedelta

    def ceiling(self, attempts: int) -> timedelta:
        doublings = min(max(0, attempts - 1), 40)  # 2**40 x base is far past any cap; bounds the arithmetic
        return min(self.cap, self.base * 2**doublings)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        return self.ceiling(attempts) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class WorkQueue(Generic[Row]):
    """How the workers take rows of one table. Callers record their own outcomes besides `failed` and `dead`."""

    model: type[Row]
    leased: str  # the status of a row a worker holds
    lease: timedelta
    max_attempts: int
    backoff: Backoff
    # A column: rows with the same non-NULL value in it go one at a time, in id order.
    partition: str | None = None
    # A boolean column: a row it marks waits for an operator; it is not due, and it holds back no later row.
    parked: str | None = None

    @property
    def unfinished(self) -> tuple[str, ...]:
        """Statuses of rows that will still be worked on; the inbox's partial index lists the same, in this order."""
        return (*RETRYABLE, self.leased)

    def due(self, now: datetime) -> ColumnElement[bool]:
        model = self.model
        waiting = [model.status.in_(RETRYABLE), model.next_attempt_at <= now]
        if self.parked is not None:
            waiting.append(getattr(model, self.parked).is_(False))
        # An expired lease is due as well: the worker that took the row died or hung.
        return or_(and_(*waiting), and_(model.status == self.leased, model.lease_until < now))

    def select_due(
        self,
        session: Session,
        now: datetime,
        *,
        limit: int,
        where: Sequence[ColumnElement[bool]] = (),
        order_by: Sequence[Any] = (),
    ) -> list[Row]:
        """Due rows, oldest first unless `order_by` says otherwise, locked by this transaction until it commits."""
        query = select(self.model).where(self.due(now), *where)
        if self.partition is not None:
            # A NULL key equals no other (SQL's `=`), so a row without a key is never held back.
            query = query.where(~self._held_back(now))
        query = query.order_by(*(order_by or (self.model.id,))).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            # Other workers skip the rows this one has locked instead of waiting, so they claim different work.
            # SQLite needs nothing: its transactions begin IMMEDIATE, one writer at a time.
            query = query.with_for_update(skip_locked=True, of=self.model)
        return list(session.scalars(query))

    def _unfinished(self, other: Any) -> list[ColumnElement[bool]]:
        # Statuses as constants, not parameters: only then can the planners prove the partial index applies.
        terms = [other.status.in_([literal(status, literal_execute=True) for status in self.unfinished])]
        if self.parked is not None:
            terms.append(getattr(other, self.parked).is_(False))
        return terms

    def _held_back(self, now: datetime) -> ColumnElement[bool]:
        """Another row of the same key goes first: an earlier unfinished one, or one a worker holds right now (an
        earlier row replayed while a later one is being worked on waits for that one to finish)."""
        assert self.partition is not None
        model, other = self.model, aliased(self.model)
        return exists().where(
            getattr(other, self.partition) == getattr(model, self.partition),
            other.id != model.id,
            *self._unfinished(other),
            or_(other.id < model.id, and_(other.status == self.leased, other.lease_until >= now)),
        )

    def waits_for_earlier(self, session: Session, row: Row) -> bool:
        """An earlier row of the same key is unfinished, seen from this (later) transaction.

        The claim decided on a snapshot; an earlier row may have become unfinished since (a replay, or a delivery
        whose commit landed after a later one's). Checked again when the work starts, the later of two rows of a
        key always steps back, so two of them are never worked on at once and they go in order.
        """
        key = None if self.partition is None else getattr(row, self.partition)
        if self.partition is None or key is None:
            return False
        other = aliased(self.model)
        found = select(other.id).where(
            getattr(other, self.partition) == key, other.id < row.id, *self._unfinished(other)
        )
        return session.scalar(found.limit(1)) is not None

    def take(self, row: Row, now: datetime, lease: timedelta | None = None) -> datetime | None:
        """Lease a due row for one more try; its lease ends at the returned time. None when the row's lease expired
        on its last try: its worker died on every one (killed for memory, say), so it is dead, not handed out."""
        if row.status == self.leased and row.attempts >= self.max_attempts:
            row.status, row.lease_until = DEAD, None
            row.error = f"lease expired on all {row.attempts} attempts; last error: {row.error or 'none recorded'}"
            return None
        lease_until = now + (lease or self.lease)
        row.status, row.lease_until, row.attempts = self.leased, lease_until, row.attempts + 1
        return lease_until

    def holds(self, row: Row | None, lease_until: datetime) -> bool:
        """The lease is still the caller's: nobody took the row over after it expired."""
        return row is not None and row.status == self.leased and row.lease_until == lease_until

    def put_back(self, row: Row) -> None:
        """Return a leased row untried: pending again, due as before, the try not counted."""
        row.status, row.lease_until, row.attempts = "pending", None, max(0, row.attempts - 1)

    def fail(self, row: Row, now: datetime, error: str, rng: random.Random, not_before: datetime | None = None) -> str:
        """A try failed: `failed` and due again after the backoff (or at `not_before`, when the other side named a
        time), or `dead` once the tries are used up. Returns the new status."""
        row.error, row.lease_until = error[:2000], None
        if row.attempts >= self.max_attempts:
            row.status = DEAD
        else:
            row.status = "failed"
            row.next_attempt_at = not_before or now + self.backoff.delay(row.attempts, rng)
        return row.status
