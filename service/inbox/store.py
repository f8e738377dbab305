"""Intake: store a delivery durably (deduplicated on source + delivery id) before it is acknowledged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from integrations.base import Identity
from service.inbox import group_commit
from service.runtime import Runtime
from service.storage.models import Delivery

# Kept for every tracker, besides the headers its integration names (`Integration.delivery_headers`: the event and
# the delivery id). An allow-list, not a deny-list: whatever a proxy or a client adds on the way (Authorization,
# Proxy-Authorization, X-Api-Key, cookies, signatures) may carry a secret, and a stored delivery is shown to every
# reader of the API; a list of what to drop would always miss the next such header.
COMMON_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class Stored:
    id: int
    delivery_id: str
    duplicate: bool


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def kept_headers(headers: Mapping[str, str], delivery_headers: Iterable[str] = ()) -> dict[str, str]:
    """The headers stored with a delivery: the common ones and the tracker's `delivery_headers`, nothing else."""
    wanted = {*COMMON_HEADERS, *(name.lower() for name in delivery_headers)}
    return {name.lower(): value for name, value in headers.items() if name.lower() in wanted}


def store(
    runtime: Runtime,
    *,
    source: str,
    identity: Identity,
    headers: Mapping[str, str],
    body: bytes,
    ignored: str | None = None,
    partition_key: str | None = None,
    delivery_headers: Iterable[str] = (),
) -> Stored:
    """Insert the delivery and commit (durably) before returning. A second copy (same source and id) is detected
    by the unique constraint, so two concurrent copies count once whichever commits first.

    Of `headers`, only the common ones and `delivery_headers` (the integration's) are kept. `partition_key` names the
    subject whose deliveries are processed one at a time, in order (`payloads.subject_of`).
    """
    digest = body_hash(body)
    delivery_id = identity.delivery_id or f"sha256:{digest}"
    now = datetime.now(UTC)
    row = {
        "source": source,
        "delivery_id": delivery_id,
        "event": identity.event,
        "action": identity.action,
        "headers": kept_headers(headers, delivery_headers),
        "body": body,
        "body_sha256": digest,
        # Understood-and-ignored deliveries are still stored for the record, already in their final status.
        "status": "ignored" if ignored else "pending",
        "attempts": 0,
        "error": ignored,
        "permanent": False,
        "partition_key": partition_key,
        "received_at": now,
        "next_attempt_at": now,
        "processed_at": now if ignored else None,
    }
    new_id = group_commit.for_engine(runtime.engine).insert(row)
    if new_id is None:
        with runtime.engine.connect() as conn:
            existing = conn.execute(
                select(Delivery.id).where(Delivery.source == source, Delivery.delivery_id == delivery_id)
            ).scalar_one()
        return Stored(existing, delivery_id, duplicate=True)
    return Stored(new_id, delivery_id, duplicate=False)
