"""Appending to the value log: canonical bytes (RFC 8785), SHA-256 chaining, one writer at a time.

Auditor's recipe (also in README): for each entry in `seq` order, take the fields
`seq, at, actor, source, kind, subject, data, prev_hash`, serialise them as RFC 8785 (JCS) canonical
JSON, and check that SHA-256 of those bytes, in lower-case hex, equals `hash`; that `prev_hash` equals
the previous entry's `hash` (64 zeros for seq 1); and that `seq` counts 1, 2, 3, ... without gaps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from service.storage.models import ValueLogEntry
from service.valuelog.canonical import canonical_json

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("seq", "at", "actor", "source", "kind", "subject", "data", "prev_hash")
# Any constant works; it only has to be the same number in every process that appends.
_PG_APPEND_LOCK = 0x7076_6D6C  # "pvml"
_LOG = cast(Table, ValueLogEntry.__table__)
# Built once: on every append's path, and a statement object keeps its cache key.
_HEAD = select(_LOG.c.seq, _LOG.c.hash).order_by(_LOG.c.seq.desc()).limit(1)
_INSERT = insert(_LOG)
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_PG_APPEND_LOCK)


@dataclass(frozen=True)
class LogRecord:
    """One value-log entry as auditors see it (the exported form)."""

    seq: int
    at: str
    actor: str
    source: str
    kind: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HASHED_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        return {**self.hashed_fields(), "hash": self.hash}

    @classmethod
    def from_row(cls, row: ValueLogEntry) -> LogRecord:
        return cls(row.seq, row.at, row.actor, row.source, row.kind, row.subject, row.data, row.prev_hash, row.hash)


def format_at(moment: datetime) -> str:
    """RFC 3339, UTC, always with microseconds, so every entry's `at` has one width and sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jsonable(value: Any) -> Any:
    """Turn dates and tuples into what JSON (and so RFC 8785) can carry."""
    if isinstance(value, datetime):
        return format_at(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return canonical_json({name: fields[name] for name in HASHED_FIELDS})


def entry_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


# What this transaction knows about the log while it holds the right to append, in `session.info`: the lock taken,
# then the head it read or wrote last. Another appender cannot move the head while the lock is held, so a second
# append in the same transaction (a rule firing on an answer) needs neither the lock nor the head again.
_APPENDING = "pvm.valuelog.appending"


@dataclass
class _Appending:
    transaction: SessionTransaction  # the outermost transaction it belongs to
    head: tuple[int, str] | None = None  # (seq, hash) of the last entry, once read


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    # A rolled-back savepoint takes its entries with it, and on PostgreSQL the advisory lock too when it was taken
    # inside: read both again.
    session.info.pop(_APPENDING, None)


def _appending(session: Session) -> _Appending | None:
    known: _Appending | None = session.info.get(_APPENDING)
    if known is not None and known.transaction is session.get_transaction() and known.transaction.is_active:
        return known
    return None


def lock_for_append(session: Session) -> None:
    """Take the right to append now, held to the end of the caller's transaction (appending takes it anyway)."""
    if _appending(session) is not None:
        return
    connection = session.connection()  # begins the caller's transaction if nothing has yet
    if connection.dialect.name == "postgresql":
        # Held to the end of the caller's transaction: concurrent appenders queue here, so `seq` has no gaps
        # and each entry links to the true previous head.
        connection.execute(_PG_LOCK)
    # SQLite: every transaction starts with BEGIN IMMEDIATE (storage.engine), its single writer serialises us.
    transaction = session.get_transaction()
    assert transaction is not None
    session.info[_APPENDING] = _Appending(transaction)


def _head(session: Session) -> tuple[int, str] | None:
    """The last entry's (seq, hash); read once per transaction, after lock_for_append."""
    known = _appending(session)
    if known is not None and known.head is not None:
        return known.head
    row = session.connection().execute(_HEAD).first()
    head = (row.seq, row.hash) if row is not None else None
    if head is not None:
        _remember_head(session, head)
    return head


def _remember_head(session: Session, head: tuple[int, str]) -> None:
    known = _appending(session)
    if known is not None:
        known.head = head


@dataclass(frozen=True)
class Pending:
    """An entry to append: what `append` takes, for `append_many`."""

    kind: str
    subject: str
    data: dict[str, Any]
    actor: str
    source: str


def append(
    session: Session,
    *,
    kind: str,
    subject: str,
    data: dict[str, Any] | None = None,
    actor: str,
    source: str,
    at: datetime | None = None,
) -> LogRecord:
    """Append one entry in the caller's transaction; it commits or rolls back with the state change."""
    (entry,) = append_many(session, [Pending(kind, subject, data or {}, actor, source)], at=at)
    return entry


def append_many(session: Session, pending: list[Pending], at: datetime | None = None) -> list[LogRecord]:
    """Append entries in order, in the caller's transaction: one head read and one multi-row insert for all of them
    (a round that asks a thousand people writes a thousand entries)."""
    if not pending:
        return []
    lock_for_append(session)
    head = _head(session)
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    stamp = format_at(at or datetime.now(UTC))
    records, rows = [], []
    for item in pending:
        fields: dict[str, Any] = {
            "seq": seq,
            "at": stamp,
            "actor": item.actor,
            "source": item.source,
            "kind": item.kind,
            "subject": item.subject,
            "data": jsonable(item.data),
            "prev_hash": prev_hash,
        }
        canonical = canonical_bytes(fields)
        digest = entry_hash(canonical)
        rows.append({**fields, "hash": digest, "canonical": canonical})
        records.append(LogRecord(**fields, hash=digest))
        seq, prev_hash = seq + 1, digest
    # Core rows, not ORM objects: nothing reads them back through the session that writes them.
    session.connection().execute(_INSERT, rows)
    _remember_head(session, (records[-1].seq, records[-1].hash))
    return records
