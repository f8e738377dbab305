"""INSERT ... ON CONFLICT on both engines: PostgreSQL and SQLite share the syntax, SQLAlchemy builds it per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `model`'s table that takes `.on_conflict_do_nothing()` / `.on_conflict_do_update()`.

    Race-safe without a savepoint: on PostgreSQL a conflicting row that another transaction has inserted but not
    committed makes this statement wait for that transaction, then resolve the conflict against what it left.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
