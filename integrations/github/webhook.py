"""GitHub deliveries: signature check (X-Hub-Signature-256) and identity, pure functions of headers and body."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from integrations.base import Identity, WebhookError


def signature(body: bytes, secret: str) -> str:
    """The header value GitHub sends: `sha256=` + lower-case hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    presented = headers.get("x-hub-signature-256", "")
    # compare_digest: the time taken must not tell an attacker how many leading characters were right.
    return hmac.compare_digest(presented.strip().encode(), signature(body, secret).encode())


def identify(headers: Mapping[str, str], payload: Mapping[str, Any]) -> Identity:
    event = headers.get("x-github-event", "").strip()
    if not event:
        raise WebhookError(400, "the X-GitHub-Event header is missing; GitHub always sends it, is this a GitHub hook?")
    action = payload.get("action")
    return Identity(
        event=event,
        delivery_id=headers.get("x-github-delivery", "").strip() or None,
        action=action if isinstance(action, str) else None,
    )
