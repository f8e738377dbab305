"""API tokens: created and revoked through the value log; only a SHA-256 of the secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service import valuelog
from service.access import ROLES
from service.domain.kinds import Kind
from service.storage.models import ApiToken

PREFIX = "pvm_"
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)
# Built once: every API request asks it, and a statement object keeps its cache key.
_ACTIVE_BY_DIGEST = select(ApiToken).where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked_at.is_(None))


class TokenError(ValueError):
    """A token request that cannot be carried out; the message says what to do instead."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, *, name: str, role: str, actor: str) -> str:
    """Returns the secret once; it cannot be recovered afterwards."""
    name = name.strip()
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters, e.g. the person or system using it")
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already; revoke it first or pick another name")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_sha256=digest(token)))
    valuelog.append(
        session,
        kind=Kind.TOKEN_CREATED,
        subject=f"token:{name}",
        data={"name": name, "role": role},
        actor=actor,
        source="service",
    )
    return token


def revoke(session: Session, *, name: str, actor: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if row is None:
        raise TokenError(f"no active token named {name!r}; `pvm token list` shows the names")
    row.revoked_at = datetime.now(UTC)
    valuelog.append(
        session,
        kind=Kind.TOKEN_REVOKED,
        subject=f"token:{name}",
        data={"name": name, "role": row.role},
        actor=actor,
        source="service",
    )


def authenticate(session: Session, presented: str) -> ApiToken | None:
    """The active token matching the presented secret, or None."""
    if not presented.startswith(PREFIX):
        return None
    wanted = digest(presented)
    row = session.scalar(_ACTIVE_BY_DIGEST, {"digest": wanted})
    # The lookup is by hash (so timing reveals nothing about the secret); compare once more in constant time.
    if row is None or not hmac.compare_digest(row.token_sha256, wanted):
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
