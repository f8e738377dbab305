"""Intake: store a delivery durably (deduplicated on source + delivery id) before it is acknowledged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from integrations.base import Identity
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
) -> Stored:
    """Insert the delivery and commit. A second copy (same source and id) is detected by the unique constraint,
    so two concurrent copies count once whichever commits first."""
    digest = body_hash(body)
    delivery_id = identity.delivery_id or f"sha256:{digest}"
    now = datetime.now(UTC)
    row = Delivery(
        source=source,
        delivery_id=delivery_id,
        event=identity.event[:100],
        action=identity.action[:100] if identity.action else None,
        headers=kept_headers(headers),
        body=body,
        body_sha256=digest,
        # Understood-and-ignored deliveries are still stored for the record, already in their final status.
        status="ignored" if ignored else "pending",
        error=ignored,
        received_at=now,
        next_attempt_at=now,
        processed_at=now if ignored else None,
    )
    try:
        with runtime.transaction() as session:
            session.add(row)
            session.flush()
            new_id = row.id
    except IntegrityError:
        with runtime.transaction() as session:
            existing = session.scalar(
                select(Delivery.id).where(Delivery.source == source, Delivery.delivery_id == delivery_id)
            )
        if existing is None:  # the constraint that fired was not ours: a real error, not a duplicate
            raise
        return Stored(existing, delivery_id, duplicate=True)
    return Stored(new_id, delivery_id, duplicate=False)
