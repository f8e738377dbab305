"""GitLab webhooks: the secret token check and what a delivery is (pure functions of headers and body)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from integrations.base import Identity, WebhookError


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """GitLab sends the configured secret verbatim in `X-Gitlab-Token` (no signature over the body)."""
    presented = headers.get("x-gitlab-token", "")
    return bool(presented) and hmac.compare_digest(presented.encode(), secret.encode())


def identify(headers: Mapping[str, str], payload: Mapping[str, Any]) -> Identity:
    event = headers.get("x-gitlab-event", "").strip()
    if not event:
        raise WebhookError(400, "missing X-Gitlab-Event header: send GitLab webhook deliveries unchanged")
    attributes = payload.get("object_attributes")
    action = attributes.get("action") if isinstance(attributes, Mapping) else None
    # X-Gitlab-Event-UUID (GitLab 14.8+) is the same on a manual redelivery; older servers send none.
    delivery = headers.get("x-gitlab-event-uuid", "").strip() or None
    return Identity(event=event, delivery_id=delivery, action=str(action) if action else None)
