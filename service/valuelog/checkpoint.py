"""Checkpoints: the head (seq, hash) written down outside the database, so a rewritten chain is caught."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import ValueLogEntry
from service.valuelog.chain import format_at


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    taken_at: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "taken_at": self.taken_at})

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            raw = json.loads(path.read_text())
            return cls(int(raw["seq"]), str(raw["hash"]), str(raw.get("taken_at", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a checkpoint written by `pvm log checkpoint`: {exc}") from exc


def take(session: Session) -> Checkpoint | None:
    head = session.execute(
        select(ValueLogEntry.seq, ValueLogEntry.hash).order_by(ValueLogEntry.seq.desc()).limit(1)
    ).first()
    if head is None:
        return None
    return Checkpoint(head.seq, head.hash, format_at(datetime.now(UTC)))


def check(session: Session, checkpoint: Checkpoint) -> str | None:
    """None when the log still holds the checkpointed entry unchanged; otherwise why not."""
    current = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == checkpoint.seq))
    if current is None:
        return f"checkpoint seq {checkpoint.seq} is missing from the log (entries were removed)"
    if current != checkpoint.hash:
        return f"seq {checkpoint.seq} has hash {current[:12]}..., the checkpoint says {checkpoint.hash[:12]}..."
    return None
