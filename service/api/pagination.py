"""Keyset pagination: `{"items": [...], "next": cursor}`, oldest first, `?limit=` (max 500) and `?after=`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import BigInteger, Integer, Select
from sqlalchemy.orm import InstrumentedAttribute

from service.api.errors import ApiError
from service.runtime import db

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def _whole(raw: str) -> int:
    """A whole number as the OpenAPI document's `integer` reads it (`10` and `10.0`), by pydantic's rules."""
    try:
        return _INT.validate_python(raw)
    except ValidationError:
        raise ValueError(raw) from None


_INT = TypeAdapter(int)


def limit_arg() -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = _whole(raw)
    except ValueError:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
    return limit


def after_arg(cast: Callable[[str], Any] = int) -> Any:
    raw = request.args.get("after")
    if raw in (None, ""):
        return None
    if cast is int:
        cast = _whole
    try:
        return cast(raw)
    except ValueError:
        raise ApiError(400, f"after must be the `next` value of the previous page, got {raw!r}") from None


def page(
    query: Select[Any],
    key: InstrumentedAttribute[Any],
    serialise: Callable[[Any], dict[str, Any]],
    cast: Callable[[str], Any] = int,
) -> dict[str, Any]:
    limit, after = limit_arg(), after_arg(cast)
    if isinstance(after, int) and isinstance(key.type, Integer):
        # A cursor past the column's range names no row (and the database would refuse the number): clamp it.
        bound = 2**63 - 1 if isinstance(key.type, BigInteger) else 2**31 - 1
        after = max(min(after, bound), -bound)
    if after is not None:
        query = query.where(key > after)
    rows = db().scalars(query.order_by(key).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = getattr(rows[-1], key.key) if more and rows else None
    return {"items": [serialise(row) for row in rows], "next": next_cursor}


Filters = Mapping[str, tuple[InstrumentedAttribute[Any], tuple[str, ...] | None]]


def filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    """Equality filters from the query string: `{"status": (Model.status, allowed values or None)}`."""
    for name, (column, choices) in filters.items():
        value = request.args.get(name)
        if not value:
            continue
        if choices is not None and value not in choices:
            raise ApiError(400, f"{name} must be one of {', '.join(choices)}, got {value!r}")
        query = query.where(column == value)
    return query
