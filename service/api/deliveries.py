"""`/api/v1/deliveries`: the inbox as operators see it (status, attempts, last error)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from sqlalchemy import select

from service.access import Permission
from service.api.auth import requires
from service.api.contract import ListQuery, documented
from service.api.pagination import filtered, page
from service.api.shapes import DeliveryDetail, DeliveryOut, Page
from service.api.visible import scope, shown, where
from service.runtime import db
from service.storage.models import Delivery

bp = Blueprint("api_deliveries", __name__)


class DeliveryQuery(ListQuery):
    status: Literal["pending", "processing", "processed", "ignored", "failed", "dead"] | None = None
    source: str | None = None


STATUSES = ("pending", "processing", "processed", "ignored", "failed", "dead")


def serialise(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "delivery_id": row.delivery_id,
        "event": row.event,
        "action": row.action,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error,
        "permanent": row.permanent,
        "received_at": row.received_at.isoformat(),
    }


@bp.get("/deliveries")
@documented(response=Page[DeliveryOut], query=DeliveryQuery)
@requires(Permission.READ)
def list_deliveries() -> dict[str, Any]:
    """Stored webhook deliveries, oldest first; filter by `status` and `source`."""
    query = filtered(select(Delivery), {"status": (Delivery.status, STATUSES), "source": (Delivery.source, None)})
    return page(where(query, scope().deliveries()), Delivery.id, serialise)


@bp.get("/deliveries/<id:inbox_id>")
@documented(response=DeliveryDetail)
@requires(Permission.READ)
def get_delivery(inbox_id: int) -> dict[str, Any]:
    """One delivery with its stored headers and timings (`id` is the inbox id from the list)."""
    row = shown(db().get(Delivery, inbox_id), f"no delivery with id {inbox_id}; list them with GET /api/v1/deliveries")
    return {
        **serialise(row),
        "headers": row.headers,
        "body_sha256": row.body_sha256,
        "body_bytes": len(row.body),
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == "failed" else None,
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
    }
