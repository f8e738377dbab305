"""Once-keys in state: claim that something is being done (race-safe), or ask whether it was."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import valuelog
from service.storage import upsert
from service.storage.models import OnceKey


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def claim(session: Session, key: str) -> bool:
    """Record `key` in the caller's transaction: True the first time, False when it is recorded already.

    Concurrent workers claiming one key on PostgreSQL: the second waits for the first to finish, then gets False
    if the first committed and True if it rolled back, so exactly one of them goes on.
    """
    if claimed(session, key):  # a key once recorded stays: saying no needs no lock
        return False
    # Whoever claims writes the matching value-log entry next, which takes the log's append lock. Take that lock
    # first: then every worker takes the two in one order (log, then key) and two of them cannot deadlock.
    valuelog.lock_for_append(session)
    inserted = session.execute(
        upsert.insert(session, OnceKey)
        .values(digest=digest(key), key=key)
        .on_conflict_do_nothing(index_elements=[OnceKey.digest])
        .returning(OnceKey.digest)
    )
    return inserted.first() is not None


def claim_many(session: Session, keys: list[str]) -> set[str]:
    """Record many keys at once (one statement), as `claim` does one: the keys this call recorded first."""
    if not keys:
        return set()
    by_digest = {digest(key): key for key in keys}
    done = set(session.scalars(select(OnceKey.digest).where(OnceKey.digest.in_(list(by_digest)))))
    fresh = [(d, key) for d, key in by_digest.items() if d not in done]
    if not fresh:
        return set()
    valuelog.lock_for_append(session)  # the same order as `claim`: the log first, then the keys
    # Rows as parameters, not as a VALUES list in the statement: one statement text for any number of keys, so it is
    # compiled once, and the driver batches the rows.
    inserted = session.connection().execute(
        upsert.insert(session, OnceKey.__table__)
        .on_conflict_do_nothing(index_elements=[OnceKey.digest])
        .returning(OnceKey.digest),
        [{"digest": d, "key": key} for d, key in fresh],
    )
    return {by_digest[d] for d in inserted.scalars()}


def claimed(session: Session, key: str) -> bool:
    """Whether `key` is recorded (by this transaction or a committed one)."""
    return session.scalar(select(OnceKey.digest).where(OnceKey.digest == digest(key))) is not None
