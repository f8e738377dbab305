"""Each person's own link to answer a check-in: signed (itsdangerous), single-use, valid until the round's deadline.

The link carries the prompt's id and its nonce, signed with a key derived from PVM_SECRET_KEY. Whether it may
still be used is decided against the state when it is opened: the prompt must exist with that nonce (else the
link was tampered with or belongs to an erased person), the round must not be past its deadline (expired), and the
link must not have answered already (used). A signed token alone is replayable until it expires; the stored nonce
and `link_used_at` make it single-use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from service.config import Settings
from service.storage.models import CheckinPrompt, CheckinRound

_SALT = "pvm check-in link"
Problem = Literal["tampered", "expired", "used", "closed"]


def _signer(settings: Settings) -> URLSafeSerializer:
    if not settings.secret_key:
        raise RuntimeError("no secret key: create_app sets one (PVM_SECRET_KEY, or the instance folder's)")
    return _serializer(settings.secret_key)


@lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeSerializer:
    # One per key, not one per link: a round's batch signs a link for every person in it.
    return URLSafeSerializer(secret_key, salt=_SALT)


def token(settings: Settings, prompt: CheckinPrompt) -> str:
    return _token(settings, prompt.id, prompt.nonce)


def _token(settings: Settings, prompt_id: int, nonce: str) -> str:
    return str(_signer(settings).dumps({"p": prompt_id, "n": nonce}))


def url(settings: Settings, prompt: CheckinPrompt) -> str:
    """The address a person opens to answer: PVM_BASE_URL/answer/<token>."""
    return url_of(settings, prompt.id, prompt.nonce)


def url_of(settings: Settings, prompt_id: int, nonce: str) -> str:
    """`url` from the prompt's id and nonce, for a message signed after its prompt's session has ended."""
    return f"{settings.base_url}/answer/{_token(settings, prompt_id, nonce)}"


@dataclass(frozen=True)
class Opened:
    """A link as found: the prompt and round when it may be used, or the problem that stops it."""

    prompt: CheckinPrompt | None
    round: CheckinRound | None
    problem: Problem | None


def open_link(session: Session, settings: Settings, presented: str, now: datetime | None = None) -> Opened:
    moment = now or datetime.now(UTC)
    try:
        claims = _signer(settings).loads(presented)
    except BadSignature:
        return Opened(None, None, "tampered")
    if not isinstance(claims, dict) or not isinstance(claims.get("p"), int) or not isinstance(claims.get("n"), str):
        return Opened(None, None, "tampered")
    prompt = session.get(CheckinPrompt, claims["p"]) if 0 < claims["p"] < 2**31 else None
    if prompt is None or prompt.nonce != claims["n"]:
        return Opened(None, None, "tampered")
    round_ = session.get(CheckinRound, prompt.round_id)
    if round_ is None:
        return Opened(prompt, None, "tampered")
    if prompt.link_used_at is not None:
        return Opened(prompt, round_, "used")
    if round_.status != "open":
        return Opened(prompt, round_, "closed")
    if round_.deadline is not None and moment > round_.deadline:
        return Opened(prompt, round_, "expired")
    return Opened(prompt, round_, None)
