"""The worker's side of the inbox: claim due deliveries with a lease, normalise, apply, and record the outcome.

Claims, leases, retries and dead rows are the work queue's (service/workqueue.py): a delivery whose worker was
killed becomes claimable again when its lease expires; a failure is kept on the row (`failed`, error, attempts)
and retried with exponential backoff and jitter; after the last try it is `dead`. The deliveries of one subject
(their partition key) go one at a time, in order of receipt. A failure that retrying cannot cure (the input, not
the database) is marked `permanent`, logged in the value log and not retried until someone replays it; it holds
back no later delivery of its subject. Each delivery is processed in its own transaction, so one poison delivery
never blocks the others.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
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
from service.workqueue import Backoff, WorkQueue

log = logging.getLogger(__name__)

BATCH = 20
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
# 15-30 s, 30 s-1 min, 1-2 min, ... capped at 2 h: a database outage or a bug fix has time to pass.
BACKOFF = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=2))
QUEUE = WorkQueue(
    Delivery,
    leased="processing",
    lease=LEASE,
    max_attempts=MAX_ATTEMPTS,
    backoff=BACKOFF,
    partition="partition_key",
    parked="permanent",
)
_jitter = random.Random()


@dataclass(frozen=True)
class Claim:
    id: int
    delivery_id: str
    lease_until: datetime


def claim(runtime: Runtime, limit: int = BATCH, now: datetime | None = None, lease: timedelta = LEASE) -> list[Claim]:
    """Lease up to `limit` due deliveries, oldest first, at most one per subject. Expired leases count as due."""
    now = now or datetime.now(UTC)
    with runtime.transaction() as session:
        claims = []
        for row in QUEUE.select_due(session, now, limit=limit):
            expired = row.status == QUEUE.leased
            lease_until = QUEUE.take(row, now, lease)
            if lease_until is None:
                log.error("delivery %s (%s) is dead: %s", row.delivery_id, row.source, row.error)
                continue
            if expired:
                log.warning("delivery %s (%s): lease expired, claiming it again", row.delivery_id, row.source)
            claims.append(Claim(row.id, row.delivery_id, lease_until))
    return claims


def process(runtime: Runtime, item: Claim) -> str:
    """Normalise and apply one claimed delivery; returns its new status ("lost" if the lease was taken over,
    "pending" if an earlier delivery of its subject turned out unfinished: it is handed back untried)."""
    try:
        with runtime.transaction() as session:
            row = session.get(Delivery, item.id, with_for_update=True)
            if row is None or not QUEUE.holds(row, item.lease_until):
                log.warning("delivery %s: lease lost to another worker; leaving it", item.delivery_id)
                return "lost"
            if QUEUE.waits_for_earlier(session, row):
                QUEUE.put_back(row)
                log.info(
                    "delivery %s: an earlier one of %s is not done; it goes first", row.delivery_id, row.partition_key
                )
                return row.status
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
        if row is None or not QUEUE.holds(row, item.lease_until):
            return "lost"
        if permanent:
            row.status, row.permanent, row.lease_until = "failed", True, None
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
        if QUEUE.fail(row, datetime.now(UTC), error, _jitter) == "dead":
            log.error("delivery %s is dead after %d attempts: %s", row.delivery_id, row.attempts, error)
        else:
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
    claims = claim(runtime, lease=timedelta(seconds=runtime.settings.worker_lease))
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
