"""Inserting a row that another worker may be inserting at the same moment: the first commit wins, the rest read it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.storage.models import Base

Model = TypeVar("Model", bound=Base)


def insert_once(session: Session, row: Model, find: Callable[[], Model | None]) -> tuple[Model, bool]:
    """Insert `row`, or return the row with the same unique key that another transaction inserted first.

    The insert runs in a savepoint: on PostgreSQL a concurrent insert of the same key makes it wait for that
    transaction and then fail, and only the savepoint is rolled back, so the caller's transaction goes on with the
    winner's row, read by `find` (a new statement sees the other's commit). SQLite has one writer, so there it
    simply inserts. Returns the row and whether this call inserted it.
    """
    session.flush()  # so that a failure of the caller's own pending rows is not taken for a lost race below
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = find()
        if found is None:  # not the same key after all: a real constraint violation, the caller's to handle
            raise
        return found, False
    return row, True
