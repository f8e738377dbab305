"""The worker's side of the inbox: claim due deliveries with a lease, normalise, apply, and record the outcome.

A lease that expires (the worker was killed mid-way) makes the delivery claimable again. A failure is kept on the
row (`failed`, error, attempts) and retried with exponential backoff; after the last try it is `dead`. A failure
that retrying cannot cure (the input, not the database) is marked `permanent`, logged in the value log and not
retried until someone replays it. Each delivery is processed in its own transaction, so one poison delivery never
blocks the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from integrations import registry
from integrations.base import Identity
from service import pipeline, reactions
from service.domain.events import Ignored
from service.domain.kinds import Kind
from service.inbox.payloads import events_of, read
from service.runtime import Runtime
from service.storage.models import Delivery
from service.valuelog import chain

log = logging.getLogger(__name__)

BATCH = 20
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
RETRYABLE = ("pending", "failed")


@dataclass(frozen=True)
class Claim:
    id: int
    delivery_id: str
    lease_until: datetime


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 2 h: a tracker outage or a bug fix has time to pass."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def claim(runtime: Runtime, limit: int = BATCH, now: datetime | None = None, lease: timedelta = LEASE) -> list[Claim]:
    """Lease up to `limit` due deliveries, oldest first. Expired leases count as due: their worker is gone."""
    now = now or datetime.now(UTC)
    lease_until = now + lease
    due = or_(
        and_(Delivery.status.in_(RETRYABLE), Delivery.next_attempt_at <= now, Delivery.permanent.is_(False)),
        and_(Delivery.status == "processing", Delivery.lease_until < now),
    )
    query = select(Delivery).where(due).order_by(Delivery.id).limit(limit)
    with runtime.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Other workers skip rows this one has locked instead of waiting, so they claim different work.
            query = query.with_for_update(skip_locked=True)
        claims = []
        for row in session.scalars(query):
            if row.status == "processing" and row.attempts >= MAX_ATTEMPTS:
                # Its worker died on every try (e.g. killed by memory limits); stop handing it out.
                row.status, row.lease_until = "dead", None
                row.error = f"lease expired on all {row.attempts} attempts; last error: {row.error or 'none recorded'}"
                log.error("delivery %s (%s) is dead: %s", row.delivery_id, row.source, row.error)
                continue
            if row.status == "processing":
                log.warning("delivery %s (%s): lease expired, claiming it again", row.delivery_id, row.source)
            row.status, row.lease_until, row.attempts = "processing", lease_until, row.attempts + 1
            claims.append(Claim(row.id, row.delivery_id, lease_until))
    return claims


def process(runtime: Runtime, item: Claim) -> str:
    """Normalise and apply one claimed delivery; returns its new status ("lost" if the lease was taken over)."""
    try:
        with runtime.transaction() as session:
            row = session.get(Delivery, item.id, with_for_update=True)
            if row is None or row.status != "processing" or row.lease_until != item.lease_until:
                log.warning("delivery %s: lease lost to another worker; leaving it", item.delivery_id)
                return "lost"
            integration = registry.get(row.source)
            result = events_of(integration, Identity(row.event, row.delivery_id, row.action), read(row.body))
            if isinstance(result, Ignored):
                row.status, row.error = "ignored", result.reason
            else:
                happened = []
                for event in result:
                    happened += pipeline.handle(session, event, runtime.settings)
                # Same transaction: a rule's outbox rows and rounds exist exactly when the change that caused them does.
                firings = reactions.react(session, happened, settings=runtime.settings, cause=f"delivery:{row.id}")
                row.status, row.error = "processed", None
                log.info(
                    "delivery %s: %d events, %d changes, %d rule firings",
                    row.delivery_id,
                    len(result),
                    len(happened),
                    len(firings),
                )
            row.processed_at, row.lease_until = datetime.now(UTC), None
            return row.status
    except Exception as exc:  # anything a delivery can raise is recorded on it; the others go on
        return _fail(runtime, item, f"{type(exc).__name__}: {exc}", permanent=not retrying_may_help(exc))


def retrying_may_help(exc: BaseException) -> bool:
    """The database or the machine failed (or another worker raced this one): the same input may pass later.

    Anything else is the input meeting code that cannot process it; it fails the same way every time.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | IntegrityError | OSError | TimeoutError)


def _fail(runtime: Runtime, item: Claim, error: str, *, permanent: bool = False) -> str:
    with runtime.transaction() as session:
        row = session.get(Delivery, item.id, with_for_update=True)
        if row is None or row.status != "processing" or row.lease_until != item.lease_until:
            return "lost"
        row.error, row.lease_until = error[:2000], None
        if permanent:
            row.status, row.permanent = "failed", True
            row.error = f"permanent: {error}"[:2000]
            log.error(
                "delivery %s failed permanently, not retried until replayed (`pvm replay %s`): %s",
                row.delivery_id,
                row.id,
                error,
            )
            chain.append(
                session,
                kind=Kind.DELIVERY_FAILED,
                subject=f"delivery:{row.id}",
                actor="worker",
                source=row.source,
                data={"delivery_id": row.delivery_id, "event": row.event, "error": row.error, "permanent": True},
            )
            return row.status
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
            log.error("delivery %s is dead after %d attempts: %s", row.delivery_id, row.attempts, error)
        else:
            row.status = "failed"
            row.next_attempt_at = datetime.now(UTC) + backoff(row.attempts)
            log.warning(
                "delivery %s failed (attempt %d of %d, next at %s): %s",
                row.delivery_id,
                row.attempts,
                MAX_ATTEMPTS,
                row.next_attempt_at.isoformat(),
                error,
            )
        return row.status


def process_due(runtime: Runtime) -> int:
    """One bounded batch for the worker: claim, then process each claimed delivery in its own transaction."""
    claims = claim(runtime)
    for item in claims:
        process(runtime, item)
    return len(claims)


class ReplayError(LookupError):
    pass


def replay(runtime: Runtime, delivery_id: str, source: str | None = None) -> Delivery:
    """Queue a stored delivery again, by the tracker's delivery id or the inbox row id; attempts start afresh."""
    with runtime.transaction() as session:
        query = select(Delivery).where(Delivery.delivery_id == delivery_id)
        if source:
            query = query.where(Delivery.source == source)
        rows = list(session.scalars(query))
        if not rows and delivery_id.isdigit():
            row = session.get(Delivery, int(delivery_id))
            rows = [row] if row else []
        if not rows:
            raise ReplayError(f"no delivery with id {delivery_id!r}; list them with GET /api/v1/deliveries")
        if len(rows) > 1:
            sources = ", ".join(sorted(r.source for r in rows))
            raise ReplayError(f"{delivery_id!r} names deliveries from {sources}; pass --source to choose one")
        row = rows[0]
        if row.status == "processing" and row.lease_until and row.lease_until > datetime.now(UTC):
            raise ReplayError(f"delivery {delivery_id!r} is being processed right now; try again in a moment")
        row.status, row.attempts, row.error, row.permanent = "pending", 0, None, False
        row.next_attempt_at, row.lease_until, row.processed_at = datetime.now(UTC), None, None
        log.info("delivery %s (%s) queued again for replay", row.delivery_id, row.source)
        return row
