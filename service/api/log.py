"""`/api/v1/log`: read and verify the value log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from service.access import Permission
from service.api.auth import requires
from service.api.pagination import page
from service.api.visible import scope, where
from service.runtime import db
from service.storage.models import ValueLogEntry
from service.valuelog import LogRecord, verify_database

bp = Blueprint("api_log", __name__)


def serialise(row: ValueLogEntry) -> dict[str, Any]:
    return LogRecord.from_row(row).as_dict()


@bp.get("/log")
@requires(Permission.READ)
def list_log() -> dict[str, Any]:
    """Value-log entries, oldest first; filter by kind, subject or actor; the cursor is the seq."""
    query = where(select(ValueLogEntry), scope().log())
    for name in ("kind", "subject", "actor"):
        value = request.args.get(name)
        if value:
            column = getattr(ValueLogEntry, name)
            # `kind=hypothesis.*` selects a family of kinds, as rule packs do.
            query = query.where(column.like(value.replace("*", "%")) if "*" in value else column == value)
    return page(query, ValueLogEntry.seq, serialise)


@bp.get("/log/verify")
@requires(Permission.READ)
def verify_log() -> dict[str, Any]:
    """Verify the whole chain as stored; `ok` false names the first bad seq and why.

    The same for every scope: the chain can only be checked whole, and the answer names no subject."""
    return verify_database(db()).as_dict()
