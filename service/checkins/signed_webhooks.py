"""Check-in prompts to a stakeholder's own endpoint, signed per Standard Webhooks, through the pinned HTTP client.

Headers `webhook-id` (the same on every try of one outbox row, so the receiver can drop a repeat),
`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the
stakeholder's `whsec_` secret, made by the `standardwebhooks` package). The URL is checked by the address guard
again at send time and the request goes to the address that was checked; a redirect is a refusal, not followed.
Errors never name the URL: it is the stakeholder's contact, and the outbox API shows errors to auditors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import floor
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from integrations.failures import Rejected, Transient
from integrations.transport import retry_after_seconds
from service.address_guard import AddressRefused
from service.checkins.messages import Outgoing, Send
from service.pinned_http import HttpFailure, PinnedHttp

RETRIED = (408, 429)  # besides 5xx: the receiver asks to be tried again later


def signed_request(secret: str, delivery_id: str, outgoing: Outgoing) -> tuple[bytes, dict[str, str]]:
    """The body and the headers; the signature is over exactly the bytes sent."""
    text = json.dumps(outgoing.message.webhook_payload(outgoing.at), ensure_ascii=False, separators=(",", ":"))
    headers = {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(floor(outgoing.at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, outgoing.at, text),
        "Content-Type": "application/json",
    }
    return text.encode(), headers


@dataclass(frozen=True)
class WebhookSender:
    """The "webhook" channel."""

    http: PinnedHttp
    channel: str = "webhook"

    @contextmanager
    def batch(self) -> Iterator[Send]:
        # Each stakeholder has an endpoint of their own: nothing to share between the sends of a batch.
        yield self.send

    def send(self, outgoing: Outgoing) -> str | None:
        message = outgoing.message
        if not message.webhook_url or not message.webhook_secret:
            raise Rejected(f"stakeholder {message.stakeholder_id} has no webhook (or no secret) any more; nothing sent")
        body, headers = signed_request(message.webhook_secret, outgoing.delivery_id, outgoing)
        try:
            answer = self.http.request("POST", message.webhook_url, body=body, headers=headers)
        except AddressRefused as exc:
            reason = _without_host(str(exc), message.webhook_url)
            raise Rejected(f"the webhook address was refused at send time: {reason}") from None
        except HttpFailure as exc:
            raise Transient(f"the webhook: {exc.message}; will retry", maybe_sent=exc.connected) from None
        status = answer.status
        if 200 <= status < 300:
            return outgoing.delivery_id
        if 300 <= status < 400:
            raise Rejected(
                f"the webhook answered {status}, a redirect; redirects are not followed: set the address it points "
                "to as the stakeholder's webhook_url"
            )
        if status in RETRIED or status >= 500:
            wait = retry_after_seconds(answer.headers.get("Retry-After"))
            raise Transient(f"the webhook answered {status}; will retry", maybe_sent=status != 429, retry_after=wait)
        raise Rejected(f"the webhook answered {status}; it does not accept the prompt, so it is not sent again")


def _without_host(reason: str, url: str) -> str:
    # The guard names the host ("hooks.example.org resolves to 10.0.0.8, a private address: ..."); keep the rule.
    host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    return reason.replace(host, "the host") if host else reason
