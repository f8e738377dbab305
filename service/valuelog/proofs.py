"""Proofs as the CLI, the API and the public receipt route hand them out: plain JSON of hex hashes, with the signed
checkpoint they lead to, so they can be checked without this service (README: "Proving an entry is in the log")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.storage.models import ValueLogCheckpoint, ValueLogEntry
from service.valuelog import keys, tree
from service.valuelog.checkpoint import latest


class ProofUnavailable(Exception):
    """No proof can be made as asked; the message says why and what to do (`status` for HTTP answers)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def _checkpoint_note(session: Session, size: int) -> str | None:
    return session.scalar(select(ValueLogCheckpoint.note).where(ValueLogCheckpoint.size == size))


def _default_size(session: Session) -> int:
    newest = latest(session)
    if newest is None:
        raise ProofUnavailable(
            "no signed checkpoint yet: proofs lead to one; the clock signs one daily (00:05 UTC), "
            "or an operator runs `pvm log checkpoint`",
            409,
        )
    return newest.size


def inclusion_proof(session: Session, settings: Settings, seq: int, size: int | None = None) -> dict[str, Any]:
    """Entry `seq` is in the tree of the first `size` entries (default: the newest signed checkpoint)."""
    size = _default_size(session) if size is None else size
    entry = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == seq))
    if entry is None:
        raise ProofUnavailable(f"there is no entry with seq {seq}; check the number on your receipt")
    if seq > size:
        raise ProofUnavailable(
            f"seq {seq} is not yet covered by a signed checkpoint (the newest covers seq 1-{size}); the clock signs "
            "one daily, so ask again tomorrow",
            409,
        )
    try:
        path = tree.inclusion(session, seq, size)
        root = tree.root(session, size)
    except tree.TreeError as exc:
        raise ProofUnavailable(str(exc), 409) from exc
    return {
        "seq": seq,
        "hash": entry,
        "leaf_index": seq - 1,
        "tree_size": size,
        "root": root.hex(),
        "path": [node.hex() for node in path],
        "checkpoint": _checkpoint_note(session, size),
        "log_key": keys.verifier(settings).vkey(),
    }


def consistency_proof(session: Session, settings: Settings, old: int, new: int | None = None) -> dict[str, Any]:
    """The tree of `new` entries (default: the newest signed checkpoint) extends the tree of `old` entries."""
    new = _default_size(session) if new is None else new
    try:
        path = tree.consistency(session, old, new)
        old_root, new_root = tree.root(session, old), tree.root(session, new)
    except tree.TreeError as exc:
        raise ProofUnavailable(str(exc), 409 if "covers" in str(exc) else 400) from exc
    return {
        "old_size": old,
        "new_size": new,
        "old_root": old_root.hex(),
        "new_root": new_root.hex(),
        "path": [node.hex() for node in path],
        "old_checkpoint": _checkpoint_note(session, old),
        "new_checkpoint": _checkpoint_note(session, new),
        "log_key": keys.verifier(settings).vkey(),
    }
