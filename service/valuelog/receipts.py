"""Receipts: the log entry that recorded a check-in answer, so the person who answered can later prove it is in the
record (its seq and hash, and where to fetch its inclusion proof)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.kinds import Kind
from service.storage.models import ValueLogEntry


@dataclass(frozen=True)
class Receipt:
    seq: int
    hash: str
    at: str


def for_answer(session: Session, round_id: int, answer_id: int) -> Receipt | None:
    """The `checkin.answered` entry of this answer (shown, never used to decide anything)."""
    row = session.execute(
        select(ValueLogEntry.seq, ValueLogEntry.hash, ValueLogEntry.at).where(
            ValueLogEntry.subject == f"checkin-round:{round_id}",
            ValueLogEntry.kind == Kind.CHECKIN_ANSWERED,
            ValueLogEntry.data["answer"].as_integer() == answer_id,
        )
    ).first()
    return Receipt(row.seq, row.hash, row.at) if row else None
