"""API tokens: created and revoked through the value log; only a SHA-256 of the secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service import valuelog
from service.access import ROLES
from service.domain.kinds import Kind
from service.scopes import Scope, ScopeInvalid, check_entry
from service.storage.models import ApiToken

PREFIX = "pvm_"
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)
# Built once: every API request asks it, and a statement object keeps its cache key.
_ACTIVE_BY_DIGEST = select(ApiToken).where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked_at.is_(None))


# Long enough for any planned use, short enough that a forgotten token does not outlive its purpose by decades.
MAX_LIFETIME = timedelta(days=3650)
_DAYS = re.compile(r"^(\d{1,5})d$")


class TokenError(ValueError):
    """A token request that cannot be carried out; the message says what to do instead."""


class TokenExpired(TokenError):
    """The token was valid but its time is over: a new one is needed, the old one cannot be renewed."""

    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"token expired on {expires_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new one")
        self.expires_at = expires_at


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """`90d` (from now), `2027-03-31` (valid through that day, UTC) or an RFC 3339 moment with a time zone."""
    now = now or datetime.now(UTC)
    text = text.strip()
    days = _DAYS.match(text)
    try:
        if days:
            moment = now + timedelta(days=int(days[1]))
        elif len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
    except (ValueError, OverflowError):
        raise TokenError(
            f"expiry {text[:40]!r} is not understood: give a number of days such as 90d, a date such as 2027-03-31, "
            "or a moment with a time zone such as 2027-03-31T18:00:00Z"
        ) from None
    if moment <= now:
        raise TokenError(f"expiry {text[:40]!r} is in the past: give a later date, or a number of days such as 90d")
    if moment - now > MAX_LIFETIME:
        raise TokenError(f"expiry {text[:40]!r} is more than {MAX_LIFETIME.days} days away: give an earlier one")
    return moment.astimezone(UTC)


def parse_scope(entries: Iterable[str] | None) -> Scope:
    try:
        return Scope.of(check_entry(entry) for entry in entries or ())
    except ScopeInvalid as exc:
        raise TokenError(str(exc)) from None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    *,
    name: str,
    role: str,
    actor: str,
    scope: Scope | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Returns the secret once; it cannot be recovered afterwards. No scope = every project; no expiry = none."""
    name = name.strip()
    scope = scope or Scope()
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters, e.g. the person or system using it")
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already; revoke it first or pick another name")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(name=name, role=role, token_sha256=digest(token), scope=list(scope.projects), expires_at=expires_at)
    )
    valuelog.append(
        session,
        kind=Kind.TOKEN_CREATED,
        subject=f"token:{name}",
        data={
            "name": name,
            "role": role,
            "scope": list(scope.projects),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
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
    """The active token matching the presented secret, or None; raises TokenExpired for one past its expiry."""
    if not presented.startswith(PREFIX):
        return None
    wanted = digest(presented)
    row = session.scalar(_ACTIVE_BY_DIGEST, {"digest": wanted})
    # The lookup is by hash (so timing reveals nothing about the secret); compare once more in constant time.
    if row is None or not hmac.compare_digest(row.token_sha256, wanted):
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenExpired(row.expires_at)
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    return row


def scope_of(row: ApiToken) -> Scope:
    return Scope.of(row.scope)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
