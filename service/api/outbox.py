"""`/api/v1/outbox`: every outbound action with its status and the body it sends (or would send)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from sqlalchemy import select

from service.access import Permission
from service.api.auth import actor, requires
from service.api.contract import ListQuery, documented
from service.api.errors import ApiError
from service.api.pagination import filtered, page
from service.api.shapes import OutboxOut, Page
from service.api.visible import scope, shown, where
from service.outbox.markers import rendered_body
from service.outbox.retry import RetryError, retry
from service.runtime import db
from service.storage.models import OutboxItem

bp = Blueprint("api_outbox", __name__)


class OutboxQuery(ListQuery):
    status: Literal["pending", "sending", "sent", "recorded", "skipped", "failed", "dead"] | None = None
    tracker: str | None = None


STATUSES = ("pending", "sending", "sent", "recorded", "skipped", "failed", "dead")


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def serialise(row: OutboxItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "tracker": row.tracker,
        "action": row.action,
        "target": row.target,
        "body": rendered_body(row),
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error,
        "cause": row.cause,
        "external_id": row.external_id,
        "created_at": _time(row.created_at),
        "next_attempt_at": _time(row.next_attempt_at) if row.status in ("pending", "failed") else None,
        "finished_at": _time(row.finished_at),
    }


@bp.get("/outbox")
@documented(response=Page[OutboxOut], query=OutboxQuery)
@requires(Permission.READ)
def list_outbox() -> dict[str, Any]:
    """Outbound actions, oldest first; filter by `status` and `tracker`."""
    filters = {"status": (OutboxItem.status, STATUSES), "tracker": (OutboxItem.tracker, None)}
    return page(where(filtered(select(OutboxItem), filters), scope().outbox()), OutboxItem.id, serialise)


def _get(item_id: int) -> OutboxItem:
    return shown(db().get(OutboxItem, item_id), f"no outbox item {item_id}; list them with GET /api/v1/outbox")


@bp.get("/outbox/<id:item_id>")
@documented(response=OutboxOut)
@requires(Permission.READ)
def get_outbox_item(item_id: int) -> dict[str, Any]:
    """One outbound action."""
    return serialise(_get(item_id))


@bp.post("/outbox/<id:item_id>/retry")
@documented(response=OutboxOut, errors=(409,))
@requires(Permission.OPERATE)
def retry_outbox_item(item_id: int) -> dict[str, Any]:
    """Send a dead, failed or skipped action again (back to pending, with a fresh set of tries)."""
    _get(item_id)
    try:
        row = retry(db(), item_id, actor=actor())
    except RetryError as exc:
        raise ApiError(404 if "no outbox item" in str(exc) else 409, str(exc)) from None
    db().commit()
    return serialise(row)
