"""Signed checkpoints: the log's size and Merkle root, signed as a C2SP checkpoint (c2sp.org/tlog-checkpoint).

```
values.city.example/value-log      <- origin: names the log (PVM_LOG_ORIGIN)
1234                               <- size: the checkpoint covers seq 1 to 1234
3q2+7w...=                         <- root: base64 of the RFC 9162 root over those entries

— values.city.example/value-log AbCd...    <- Ed25519 signature (signed note)
```

Once a checkpoint has left the database (a file elsewhere, a webhook, a tracker comment), no rewrite of the first
`size` entries can go unnoticed: the root would differ, and a later checkpoint would not be consistent with it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.storage.models import ValueLogCheckpoint, ValueLogEntry
from service.valuelog import keys, tree
from service.valuelog.note import NoteError, Verifier, open_note


class CheckpointRefused(Exception):
    """The log cannot be signed as it stands; the message says why and what to run."""


@dataclass(frozen=True)
class SignedCheckpoint:
    origin: str
    size: int
    root: bytes
    note: str

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode()

    @staticmethod
    def body(origin: str, size: int, root: bytes) -> str:
        return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"

    @classmethod
    def parse(cls, note: str, verifier: Verifier) -> SignedCheckpoint:
        """The checkpoint when `verifier` signed it and it is well formed; NoteError saying what is wrong."""
        lines = open_note(note, verifier).split("\n")[:-1]
        if len(lines) < 3:
            raise NoteError("a checkpoint's text has three lines: origin, size, root hash")
        origin, size_text, root_text = lines[:3]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError(f"the checkpoint's size {size_text[:30]!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            root = b""
        if len(root) != 32:
            raise NoteError("the checkpoint's root hash is not base64 of 32 bytes")
        return cls(origin, int(size_text), root, note)

    @classmethod
    def load(cls, path: Path, verifier: Verifier) -> SignedCheckpoint:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NoteError(f"{path} cannot be read: {exc}") from exc
        try:
            return cls.parse(text, verifier)
        except NoteError as exc:
            raise NoteError(f"{path}: {exc}") from exc


def latest(session: Session) -> ValueLogCheckpoint | None:
    return session.scalars(select(ValueLogCheckpoint).order_by(ValueLogCheckpoint.size.desc()).limit(1)).first()


def latest_signed(session: Session, settings: Settings) -> SignedCheckpoint | None:
    row = latest(session)
    return SignedCheckpoint.parse(row.note, keys.verifier(settings)) if row else None


def issue(session: Session, settings: Settings) -> tuple[SignedCheckpoint, bool] | None:
    """Sign the log's current head, in the caller's transaction: (checkpoint, True when it is new). None when the
    log is empty. A head signed already is answered with its checkpoint (same size, same root, same note)."""
    head = session.scalar(select(func.max(ValueLogEntry.seq)))
    if head is None:
        return None
    previous = latest(session)
    if previous is not None and head < previous.size:
        raise CheckpointRefused(
            f"the log ends at seq {head}, but a checkpoint of size {previous.size} was signed: entries were deleted. "
            "Run `pvm log verify --checkpoint` against a checkpoint kept outside the database"
        )
    if previous is not None and head == previous.size:
        if tree.root(session, head).hex() != previous.root or not tree.head_matches(session, head):
            raise CheckpointRefused(
                f"seq {head} differs from the entry the last signed checkpoint committed to; refusing to sign. "
                "Run `pvm log verify` to see what was changed"
            )
        return SignedCheckpoint.parse(previous.note, keys.verifier(settings)), False
    try:
        root = tree.extend(session, head)
    except tree.TreeError as exc:
        raise CheckpointRefused(str(exc)) from exc
    signer = keys.signer(settings)
    note = signer.sign(SignedCheckpoint.body(signer.name, head, root))
    session.add(ValueLogCheckpoint(size=head, root=root.hex(), note=note))
    session.flush()
    return SignedCheckpoint(signer.name, head, root, note), True


@dataclass(frozen=True)
class LegacyCheckpoint:
    """The unsigned `{"seq", "hash", "taken_at"}` files written before checkpoints were signed; still checked."""

    seq: int
    hash: str

    @classmethod
    def load(cls, path: Path) -> LegacyCheckpoint | None:
        """The legacy checkpoint in `path`, or None when the file is something else (a signed note)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or "seq" not in raw or "hash" not in raw:
            return None
        return cls(int(raw["seq"]), str(raw["hash"]))


def check_legacy(session: Session, point: LegacyCheckpoint) -> str | None:
    """None when the log still holds the checkpointed entry unchanged; otherwise why not."""
    current = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == point.seq))
    if current is None:
        return f"checkpoint seq {point.seq} is missing from the log (entries were removed)"
    if current != point.hash:
        return f"seq {point.seq} has hash {current[:12]}..., the checkpoint says {point.hash[:12]}..."
    return None
