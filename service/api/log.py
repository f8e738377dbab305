"""`/api/v1/log`: read and verify the value log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from service.access import Permission
from service.api.auth import requires
from service.api.errors import ApiError
from service.api.pagination import page
from service.runtime import db
from service.storage.models import ValueLogEntry
from service.valuelog import LogRecord, verify_database
from service.valuelog.query import LogFilter, QueryInvalid

bp = Blueprint("api_log", __name__)


def serialise(row: ValueLogEntry) -> dict[str, Any]:
    return LogRecord.from_row(row).as_dict()


@bp.get("/log")
@requires(Permission.READ)
def list_log() -> dict[str, Any]:
    """Value-log entries, oldest first, filtered by kind, subject, actor and time range; the cursor is the seq.

    `kind=hypothesis.*` selects a family; `since` and `until` take a day or an RFC 3339 moment (UTC)."""
    try:
        log_filter = LogFilter.parse(request.args)
    except QueryInvalid as exc:
        raise ApiError(400, str(exc), [{"path": name, "message": message} for name, message in exc.problems]) from None
    return page(log_filter.apply(select(ValueLogEntry)), ValueLogEntry.seq, serialise)


@bp.get("/log/verify")
@requires(Permission.READ)
def verify_log() -> dict[str, Any]:
    """Verify the whole chain as stored; `ok` false names the first bad seq and why."""
    return verify_database(db(), release=True).as_dict()
