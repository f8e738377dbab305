"""Database engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.config import ConfigError, Settings, redact_url
from service.storage import private_files

# How every SQLite transaction starts (see _on_begin); intake's batch writer, which drives the driver directly,
# starts its transactions the same way.
SQLITE_BEGIN = "BEGIN IMMEDIATE"


def normalise_url(url: str) -> str:
    """psycopg 3 is the driver we ship; plain postgresql:// URLs would ask SQLAlchemy for psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    url = normalise_url(settings.database_url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse text
        raise ConfigError(f"DATABASE_URL is malformed ({redact_url(settings.database_url)}): {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database_file = private_files.sqlite_path(parsed.database)
        if database_file is not None:
            private_files.make_sqlite_private(database_file)
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("connect_args", {})
    kwargs["connect_args"].setdefault("timeout", 30)
    kwargs["connect_args"].setdefault("check_same_thread", False)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below issue BEGIN, not the driver's own implicit transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL, not NORMAL: WAL with NORMAL can lose the last commits (inbox rows, log entries) on power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes SQLite's single write lock up front, so two writers cannot both read the log's
        # head and then race to append: SQLite's one writer is what serialises the value log.
        conn.exec_driver_sql(SQLITE_BEGIN)

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
