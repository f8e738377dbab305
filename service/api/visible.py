"""The signed-in token's scope in API views: lists are filtered by it, and an object outside it answers 404."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import g

from service.api.errors import ApiError
from service.runtime import db
from service.scopes import Scope

T = TypeVar("T")


def scope() -> Scope:
    return g.get("token_scope") or Scope()


def shown(row: T | None, missing: str) -> T:
    """The row, or the same 404 as for a row that does not exist: a scoped token must not learn what exists
    outside its projects, by reading or by writing."""
    if row is None or not scope().shows(db(), row):
        raise ApiError(404, missing)
    return row


def covers_key(key: str, missing: str) -> None:
    """For keys of objects not stored as a row of their own here (an epic being created for, a case)."""
    if not scope().covers_key(key):
        raise ApiError(404, missing)


def where(query: Any, condition: Any) -> Any:
    return query if scope().everything else query.where(condition)
