"""Jira deliveries: signature check (`X-Hub-Signature: sha256=...`) and identity from the body's `webhookEvent`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from integrations.base import Identity, WebhookError


def signature(body: bytes, secret: str) -> str:
    """Jira Cloud signs like GitHub: `sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    presented = headers.get("x-hub-signature", "").strip()
    method, _, digest = presented.partition("=")
    expected = signature(body, secret)
    # Normalise only the method name's case; the comparison itself stays constant-time.
    return hmac.compare_digest(f"{method.lower()}={digest}".encode(), expected.encode())


def identify(headers: Mapping[str, str], payload: Mapping[str, Any]) -> Identity:
    event = payload.get("webhookEvent")
    if not isinstance(event, str) or not event.strip():
        raise WebhookError(
            400,
            "the body has no `webhookEvent` field; Jira names the event there. Is this a Jira webhook delivery?",
        )
    sub_type = payload.get("issue_event_type_name")
    return Identity(
        event=event.strip(),
        delivery_id=headers.get("x-atlassian-webhook-identifier", "").strip() or None,
        action=sub_type if isinstance(sub_type, str) else None,
    )
