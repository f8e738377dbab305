"""The per-app runtime: settings, engine and session factory, reachable from a request or a CLI command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app, g
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import ConfigError, Settings, redact_url
from service.storage import migrate
from service.storage.engine import transaction

if TYPE_CHECKING:  # the dispatcher is built from a runtime, so its module imports this one
    from service.outbox.dispatch import Dispatcher


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # Built by the first outbox pass and kept as long as the runtime, so tracker clients are built once.
    outbox_dispatcher: Dispatcher | None = field(default=None, repr=False, compare=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def database_reachable(self) -> str | None:
        """None when a query goes through; otherwise the reason, without credentials."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            return str(cause).strip().splitlines()[0]
        return None

    def check_database(self) -> None:
        """Fail at start, naming DATABASE_URL, rather than at the first webhook."""
        reason = self.database_reachable()
        if reason is not None:
            raise ConfigError(
                f"DATABASE_URL ({redact_url(self.settings.database_url)}) is unreachable: {reason}. "
                "Start the database or fix the URL."
            )

    def schema_at_head(self) -> bool:
        return migrate.is_at_head(self.engine)


def runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["pvm"]


def db() -> Session:
    """The request's session; closed (and rolled back if not committed) when the request ends."""
    if "pvm_session" not in g:
        g.pvm_session = runtime().sessions()
    return g.pvm_session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("pvm_session", None)
    if session is not None:
        session.close()
