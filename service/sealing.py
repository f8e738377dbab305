"""Secrets the service keeps and commitments it publishes, each with its own key derived from PVM_SECRET_KEY.

- `seal` / `unseal`: secrets the service must read back to use (a stakeholder webhook's signing secret), stored
  encrypted (Fernet: AES-128-CBC with HMAC-SHA256), so a copy of the database alone does not reveal them.
- `commit`: what the value log holds instead of personal data (answer texts, contacts): HMAC-SHA256 of the text
  under a key only the service has. An auditor shown a text can have it checked against the log; the log alone
  reveals nothing, and erasing the text leaves the log intact and verifiable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.config import Settings

COMMITMENT_PREFIX = "hmac-sha256:"


def _key(settings: Settings, purpose: str) -> bytes:
    if not settings.secret_key:
        raise RuntimeError("no secret key: create_app sets one (PVM_SECRET_KEY, or the instance folder's)")
    return _derived(settings.secret_key, purpose)


@lru_cache(maxsize=16)
def _derived(secret_key: str, purpose: str) -> bytes:
    # Derived once per key and purpose: asking a round commits to a contact per person, an answer to three texts.
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pvm {purpose}".encode())
    return derive.derive(secret_key.encode())


def seal(settings: Settings, secret: str) -> str:
    return Fernet(base64.urlsafe_b64encode(_key(settings, "sealed secrets"))).encrypt(secret.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    """The secret; ValueError when it was sealed under another PVM_SECRET_KEY (say so to the operator)."""
    try:
        return Fernet(base64.urlsafe_b64encode(_key(settings, "sealed secrets"))).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ValueError("a stored secret was sealed under another PVM_SECRET_KEY; set it again") from None


def commit(settings: Settings, text: str | None) -> str | None:
    if text is None:
        return None
    digest = hmac.new(_key(settings, "commitments"), text.encode(), hashlib.sha256).hexdigest()
    return COMMITMENT_PREFIX + digest
