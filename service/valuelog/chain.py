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
from typing import Any

import rfc8785
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.storage.models import ValueLogEntry

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("seq", "at", "actor", "source", "kind", "subject", "data", "prev_hash")
# Any constant works; it only has to be the same number in every process that appends.
_PG_APPEND_LOCK = 0x7076_6D6C  # "pvml"


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
    return rfc8785.dumps({name: fields[name] for name in HASHED_FIELDS})


def entry_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def lock_for_append(session: Session) -> None:
    """Take the right to append now, held to the end of the caller's transaction (appending takes it anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the caller's transaction: concurrent appenders queue here, so `seq` has no gaps
        # and each entry links to the true previous head.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})
    # SQLite: every transaction starts with BEGIN IMMEDIATE (storage.engine), its single writer serialises us.


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
) -> ValueLogEntry:
    """Append one entry in the caller's transaction; it commits or rolls back with the state change."""
    (entry,) = append_many(session, [Pending(kind, subject, data or {}, actor, source)], at=at)
    return entry


def append_many(session: Session, pending: list[Pending], at: datetime | None = None) -> list[ValueLogEntry]:
    """Append entries in order, in the caller's transaction: one head read and one flush for all of them (a round
    that asks a thousand people writes a thousand entries)."""
    if not pending:
        return []
    lock_for_append(session)
    session.flush()
    head = session.execute(
        select(ValueLogEntry.seq, ValueLogEntry.hash).order_by(ValueLogEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    stamp = format_at(at or datetime.now(UTC))
    entries = []
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
        entry = ValueLogEntry(**fields, hash=entry_hash(canonical), canonical=canonical)
        entries.append(entry)
        seq, prev_hash = seq + 1, entry.hash
    session.add_all(entries)
    session.flush()
    return entries
