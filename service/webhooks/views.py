"""The one webhook view, generic over `integrations.registry`: nothing here is specific to a tracker."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError
from werkzeug.exceptions import RequestEntityTooLarge

from integrations import registry
from integrations.base import Integration, WebhookError
from service import inbox
from service.domain.events import Ignored
from service.inbox.payloads import Unacceptable, check_identity, events_of, read, subject_of
from service.runtime import runtime

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


def _answer(code: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"message" if code < 400 else "error": message, **extra}), code


def _delivery_hint(headers: Mapping[str, str]) -> str:
    """The tracker's delivery id for log lines, before the body is trusted (headers only)."""
    for name in ("x-github-delivery", "x-atlassian-webhook-identifier", "x-gitlab-event-uuid"):
        if headers.get(name):
            return headers[name]
    return "-"


@bp.post("/webhooks/<name>")
def receive(name: str) -> tuple[Response, int]:
    """Store a tracker's delivery; 202 new, 200 duplicate (see README for every answer)."""
    try:
        integration = registry.get(name)
    except registry.UnknownTracker as exc:
        return _answer(404, f"{exc}; point the tracker at /webhooks/<one of those>")
    headers = {key.lower(): value for key, value in request.headers.items()}
    hint = _delivery_hint(headers)
    rejected = _check_signature(integration, headers, hint)
    if rejected is not None:
        return rejected
    body = request.get_data(cache=False)
    try:
        payload = read(body)
        identity = integration.identify(headers, payload)
        check_identity(identity)
        # The worker runs these same steps on the stored body: refusing here what it could not process means
        # a malformed payload gets a 400 naming what is wrong instead of being acknowledged and then failing.
        outcome = events_of(integration, identity, payload)
    except WebhookError as exc:
        log.info("webhook %s delivery %s refused: %s", name, hint, exc)
        return _answer(exc.status, str(exc))
    except Unacceptable as exc:
        log.info("webhook %s delivery %s refused: %s", name, hint, exc)
        return _answer(400, str(exc))
    ignored = outcome.reason if isinstance(outcome, Ignored) else None
    try:
        stored = inbox.store(
            runtime(),
            source=integration.name,
            identity=identity,
            headers=headers,
            body=body,
            ignored=ignored,
            partition_key=subject_of(outcome),
            delivery_headers=integration.delivery_headers,
        )
    except (OperationalError, ProgrammingError, OSError) as exc:  # OSError: SQLite's file or its lock file
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        log.error("webhook %s delivery %s NOT stored, database unavailable: %s", name, hint, reason)
        return _answer(503, "the database is unavailable, nothing was stored; the tracker should retry")
    except (DataError, UnicodeError) as exc:  # intake's checks should have refused it; only this delivery fails
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        log.error("webhook %s delivery %s NOT stored, the database refused it: %s", name, hint, reason)
        return _answer(400, f"the delivery cannot be stored: {reason}")
    if stored.duplicate:
        log.info("webhook %s delivery %s: duplicate of inbox row %d", name, stored.delivery_id, stored.id)
        return _answer(200, "duplicate delivery, already stored", id=stored.id, delivery_id=stored.delivery_id)
    log.info(
        "webhook %s delivery %s stored as inbox row %d (%s%s)",
        name,
        stored.delivery_id,
        stored.id,
        identity.event,
        f", ignored: {ignored}" if ignored else "",
    )
    status = "ignored" if ignored else "pending"
    return _answer(202, "stored", id=stored.id, delivery_id=stored.delivery_id, status=status)


def _check_signature(integration: Integration, headers: Mapping[str, str], hint: str) -> tuple[Response, int] | None:
    settings = runtime().settings
    secret = integration.secret(settings)
    if not secret:
        if settings.allow_unsigned_webhooks:
            log.warning(
                "webhook %s delivery %s accepted UNSIGNED (PVM_ALLOW_UNSIGNED_WEBHOOKS)", integration.name, hint
            )
            return None
        log.error("webhook %s delivery %s refused: %s is not set", integration.name, hint, integration.secret_variable)
        return _answer(
            503,
            f"{integration.secret_variable} is not set: set it to the secret configured on the tracker's webhook, "
            "then restart the service",
        )
    body = request.get_data(cache=True)
    if not integration.verify(headers, body, secret):
        log.warning("webhook %s delivery %s refused: signature missing or wrong", integration.name, hint)
        return _answer(401, "signature missing or wrong: check that the tracker's webhook secret matches ours")
    return None


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
    limit = runtime().settings.max_webhook_bytes
    hint = _delivery_hint({key.lower(): value for key, value in request.headers.items()})
    log.warning("webhook delivery %s refused: larger than %d bytes", hint, limit)
    return _answer(413, f"the body is larger than {limit // (1024 * 1024)} MB; trackers never send that much")
