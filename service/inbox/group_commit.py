"""Group commit for intake: concurrent requests in one process share one transaction, so one fsync.

Durability is unchanged: a request returns (and is acknowledged) only after the transaction holding its row has
committed. Under a threaded server this lifts the one-commit-per-request ceiling (SQLite has one writer; every
commit waits for the disk). The first waiting request writes for everyone queued behind it ("leader"); the rest
wait for their row's outcome, and the first of them still queued then writes the next batch.

On SQLite the leaders of all web processes take turns on one file lock before they take the batch: the waiting
leader wakes the moment the lock is released, and its batch then holds every request that arrived while it waited
(SQLite's own busy handler would poll with sleeps that grow to 100 ms).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from service.storage.engine import SQLITE_BEGIN
from service.storage.models import Delivery

_TABLE = Delivery.metadata.tables[Delivery.__tablename__]
MAX_BATCH = 64  # bounds the transaction (and so the wait of its first request)


@dataclass
class _Pending:
    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    new_id: int | None = None  # None after `done`: a row with this (source, delivery_id) already exists
    error: BaseException | None = None
    finished: bool = False  # its batch was written (or failed); `done` without it means "write the next batch"


class GroupCommit:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.queue: list[_Pending] = []
        self.writing = False
        # The leader's own connection, kept between batches: checking one out of the pool per batch (and, on
        # PostgreSQL, its pre-ping round trip) cost more than the insert itself. Only the leader touches it.
        self.conn: Connection | None = None
        self.turns = _WriterTurns.for_engine(engine)

    def insert(self, row: dict[str, Any]) -> int | None:
        """The new row's id, or None when the unique constraint says it is a duplicate."""
        item = _Pending(row)
        with self.lock:
            self.queue.append(item)
            lead = not self.writing
            if lead:
                self.writing = True
        if not lead:
            item.done.wait()  # woken with its outcome, or to write the next batch (then it is not finished)
        if not item.finished:
            self._write_next_batch()
        if item.error is not None:
            raise item.error
        return item.new_id

    def _write_next_batch(self) -> None:
        """Write the batch at the head of the queue (the caller's own row first), then hand the writing to the
        first request still queued: no request keeps writing batch after batch for others while its answer waits."""
        batch: list[_Pending] = []
        try:
            with self.turns:
                batch = self._take_batch()
                self._write(batch)
        except BaseException as exc:  # the database is down, say: every request in the batch answers 503
            batch = batch or self._take_batch()  # the turn itself failed: its requests get the error, not a hang
            for item in batch:
                if item.new_id is None and item.error is None:
                    item.error = exc
        for item in batch:
            item.finished = True
        with self.lock:
            if self.queue:
                self.queue[0].done.set()  # not finished: it writes the next batch
            else:
                self.writing = False
        for item in batch:
            item.done.set()

    def _take_batch(self) -> list[_Pending]:
        with self.lock:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
        return batch

    def _write(self, batch: list[_Pending]) -> None:
        try:
            ids = self._insert_batch(batch)
        except IntegrityError:
            if len(batch) == 1:
                batch[0].new_id = None
                return
            # A duplicate somewhere in the batch aborted it all: write each row on its own to find which.
            for item in batch:
                self._write([item])
            return
        except Exception as exc:
            if len(batch) == 1 or _database_unavailable(exc):
                raise
            # One row the database cannot take (intake checks should have refused it) aborted the whole batch,
            # which was rolled back: write each row on its own, so only that row fails and its neighbours land.
            for item in batch:
                try:
                    self._write([item])
                except Exception as row_exc:
                    if _database_unavailable(row_exc):
                        raise
                    item.error = row_exc
            return
        for item, new_id in zip(batch, ids, strict=True):
            item.new_id = new_id

    def _insert_batch(self, batch: list[_Pending]) -> list[int]:
        """Insert and commit the batch; one retry on a fresh connection when the kept one turns out dead (the
        database restarted, say). Retrying is safe: a row whose commit did land is then a duplicate, not a copy."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                return _insert_on_driver(conn, [item.row for item in batch])
            except DBAPIError as exc:
                if isinstance(exc, IntegrityError):
                    raise
                self._drop_connection()
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _connection(self) -> Connection:
        if self.conn is None:
            conn = self.engine.connect()
            if conn.dialect.name != "sqlite":
                # Each batch is one INSERT statement, atomic by itself: autocommit saves the BEGIN and COMMIT round
                # trips. SQLAlchemy restores the pool's isolation level when the connection goes back.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self.conn = conn
        return self.conn

    def _drop_connection(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(DBAPIError):  # already broken: the pool discards it
                conn.close()


def _database_unavailable(exc: BaseException) -> bool:
    """The database (or SQLite's file) failed, not one row: every request of the batch gets the error (503)."""
    return isinstance(exc, OperationalError | InterfaceError | OSError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class _CompiledInsert:
    """One INSERT ... VALUES (...), (...) RETURNING for a dialect, a set of row keys and a number of rows, compiled
    once, with each column's bind processor, so rows go to the driver as SQLAlchemy itself would send them (JSON
    serialised, UTC datetimes converted, ...)."""

    def __init__(self, dialect: Dialect, keys: tuple[str, ...], count: int) -> None:
        slot_of = {f"{key}_{n}": (n, key) for n in range(count) for key in keys}
        values = [{key: bindparam(f"{key}_{n}", type_=_TABLE.c[key].type) for key in keys} for n in range(count)]
        statement = insert(_TABLE).values(values).returning(_TABLE.c.id, _TABLE.c.source, _TABLE.c.delivery_id)
        # psycopg rewrites %(name)s placeholders with a regular expression on every execute of a statement this
        # long (it caches only short ones): compiled with PostgreSQL's own $n placeholders, its RawCursor sends the
        # statement as it is.
        raw = dialect.driver == "psycopg"
        self.open_cursor: Callable[[Any], Any] = _raw_cursor if raw else _plain_cursor
        dollar_dialect: Any = type(dialect)  # a DefaultDialect subclass; it takes `paramstyle`
        compiled = statement.compile(dialect=dollar_dialect(paramstyle="numeric_dollar") if raw else dialect)
        assert compiled.positional and compiled.positiontup  # SQLite's ? and PostgreSQL's $n
        self.sql = compiled.string
        processors = {key: _TABLE.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys}
        # (row, column, bind processor) for each placeholder, in the statement's order.
        self.slots = [(n, key, processors[key]) for n, key in (slot_of[name] for name in compiled.positiontup)]

    def params(self, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple(process(rows[n][key]) if process else rows[n][key] for n, key, process in self.slots)


def _raw_cursor(driver: Any) -> Any:
    from psycopg import RawCursor  # imported on PostgreSQL only

    return RawCursor(driver)


def _plain_cursor(driver: Any) -> Any:
    return driver.cursor()


_compiled: dict[tuple[str, tuple[str, ...], int], _CompiledInsert] = {}


def _insert_on_driver(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows with one statement and commit, through the driver's own cursor; their new ids in order.

    SQLAlchemy's per-execute machinery (events, result objects, the BEGIN through exec_driver_sql) cost several
    times the insert itself on this path, for each batch. One multi-row statement costs a third of one statement
    per row. On PostgreSQL the connection is in autocommit (see `GroupCommit._connection`): the one statement is
    its own transaction, all rows or none, in a single round trip. Driver errors are wrapped as SQLAlchemy's (a
    dead connection invalidated), so callers see the same exceptions as from `conn.execute`.
    """
    dialect = conn.dialect
    shape = (dialect.name, tuple(rows[0]), len(rows))
    statement = _compiled.get(shape)
    if statement is None:
        statement = _compiled[shape] = _CompiledInsert(dialect, *shape[1:])
    driver = conn.connection.dbapi_connection
    assert driver is not None  # a connection we hold open
    params = statement.params(rows)
    cursor = statement.open_cursor(driver)
    try:
        if dialect.name == "sqlite":
            # The driver is in autocommit mode (storage.engine): take the write lock up front, as every writer does.
            cursor.execute(SQLITE_BEGIN)
        cursor.execute(statement.sql, params)
        # RETURNING promises no order: match the ids to the rows by their unique key.
        ids = {(source, delivery_id): new_id for new_id, source, delivery_id in cursor.fetchall()}
        if dialect.name == "sqlite":
            driver.commit()  # the BEGIN IMMEDIATE above; elsewhere the statement committed itself
        return [int(ids[(row["source"], row["delivery_id"])]) for row in rows]
    except dialect.loaded_dbapi.Error as exc:
        disconnected = dialect.is_disconnect(exc, driver, cursor)
        if disconnected:
            conn.invalidate(exc)
        else:
            driver.rollback()
        raise DBAPIError.instance(
            statement.sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=disconnected, dialect=dialect
        ) from exc
    except BaseException:
        # Not the driver's error (a value it cannot encode, say, raised while binding): the transaction is still
        # open, and on SQLite it holds the write lock that every other writer waits for. Let go of it.
        with contextlib.suppress(Exception):  # nothing to roll back is fine too
            driver.rollback()
        raise
    finally:
        if not conn.invalidated:
            cursor.close()


class _WriterTurns:
    """An exclusive lock on a file beside a SQLite database, held by one intake leader of all processes at a time.

    A blocked `flock` wakes as soon as the holder lets go; the lock only orders intake's leaders among themselves,
    SQLite's own write lock still guards the data against every other writer. No-op for other databases (they
    take concurrent commits) and for in-memory SQLite (one process).
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.fd: int | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> _WriterTurns:
        database = engine.url.database
        in_file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        return cls(f"{database}-intake.lock" if in_file and database else None)

    def __enter__(self) -> None:
        if self.path is None:
            return
        if self.fd is None:
            # Opened lazily, by the process that writes: a forked worker must not share its parent's lock.
            self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


_instances: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()


def for_engine(engine: Engine) -> GroupCommit:
    with _instances_lock:
        found = _instances.get(engine)
        if found is None:
            found = _instances[engine] = GroupCommit(engine)
        return found
