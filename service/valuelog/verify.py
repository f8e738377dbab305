"""Verifying the value log, from the database (hashing the stored bytes) or from an exported file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import ValueLogEntry
from service.valuelog.chain import GENESIS_HASH, HASHED_FIELDS, canonical_bytes, entry_hash
from service.valuelog.query import batches

BATCH = 2000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head: str
    bad_seq: int | None = None
    reason: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"OK {self.entries} entries, head {self.head}"
        return f"BAD seq {self.bad_seq}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "bad_seq": self.bad_seq,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _Checked:
    seq: int
    fields: dict[str, Any]
    canonical: bytes
    hash: str


def verify_records(records: Iterable[_Checked], progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the chain once; stop at the first entry that is wrong and say why."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for record in records:
        if record.seq != expected_seq:
            kind = "gap" if record.seq > expected_seq else "out of order"
            return VerifyResult(
                False, count, prev_hash, expected_seq, f"{kind}: expected seq {expected_seq}, found seq {record.seq}"
            )
        if entry_hash(record.canonical) != record.hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                record.seq,
                "hash mismatch: the entry's bytes were changed after it was written",
            )
        if record.fields != _parse(record.canonical):
            return VerifyResult(
                False, count, prev_hash, record.seq, "fields differ from the hashed bytes: a column was changed"
            )
        if record.fields["prev_hash"] != prev_hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                record.seq,
                f"broken link: prev_hash {record.fields['prev_hash'][:12]}... does not match "
                f"the hash of seq {expected_seq - 1}",
            )
        prev_hash, expected_seq, count = record.hash, expected_seq + 1, count + 1
        if progress and count % BATCH == 0:
            progress(count)
    return VerifyResult(True, count, prev_hash)


def _parse(canonical: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(canonical)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _database_records(session: Session, release: bool = False) -> Iterator[_Checked]:
    for rows in batches(session, select(ValueLogEntry), size=BATCH, release=release):
        for row in rows:
            fields = {name: getattr(row, name) for name in HASHED_FIELDS}
            yield _Checked(row.seq, fields, bytes(row.canonical), row.hash)


def verify_database(
    session: Session, progress: Callable[[int], None] | None = None, *, release: bool = False
) -> VerifyResult:
    """The whole chain as stored, BATCH entries in memory at a time; `release` ends the read transaction between
    batches (query.batches says when that is right)."""
    return verify_records(_database_records(session, release), progress)


def file_records(lines: Iterable[str]) -> Iterator[_Checked]:
    """Exported JSON Lines: the canonical bytes are recomputed from the fields (RFC 8785 is deterministic)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            fields = {name: entry[name] for name in HASHED_FIELDS}
            yield _Checked(int(entry["seq"]), fields, canonical_bytes(fields), str(entry["hash"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number} is not a value-log entry: {exc}") from exc
