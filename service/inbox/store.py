"""Intake: store a delivery durably (deduplicated on source + delivery id) before it is acknowledged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from integrations.base import Identity
from service.inbox import group_commit
from service.runtime import Runtime
from service.storage.models import Delivery

# Never stored: they carry or prove a secret, and replaying a stored delivery does not re-verify it.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-hub-signature", "x-hub-signature-256", "x-gitlab-token"})


@dataclass(frozen=True)
class Stored:
    id: int
    delivery_id: str
    duplicate: bool


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() not in _SECRET_HEADERS}


def store(
    runtime: Runtime,
    *,
    source: str,
    identity: Identity,
    headers: Mapping[str, str],
    body: bytes,
    ignored: str | None = None,
    partition_key: str | None = None,
) -> Stored:
    """Insert the delivery and commit (durably) before returning. A second copy (same source and id) is detected
    by the unique constraint, so two concurrent copies count once whichever commits first.

    `partition_key` names the subject whose deliveries are processed one at a time, in order (`payloads.subject_of`).
    """
    digest = body_hash(body)
    delivery_id = identity.delivery_id or f"sha256:{digest}"
    now = datetime.now(UTC)
    row = {
        "source": source,
        "delivery_id": delivery_id,
        "event": identity.event,
        "action": identity.action,
        "headers": kept_headers(headers),
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
