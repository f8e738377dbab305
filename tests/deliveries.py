"""One-line helpers to send signed tracker deliveries through the real webhook endpoint, and to drain the inbox."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from integrations.github.webhook import signature as github_signature
from integrations.jira.webhook import signature as jira_signature
from service import inbox
from service.runtime import runtime
from tests.conftest import FIXTURES, GITHUB_SECRET, JIRA_SECRET


def body_of(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def github_headers(event: str, body: bytes, delivery: str | None = None, secret: str = GITHUB_SECRET) -> dict[str, str]:
    """The headers GitHub sends with a delivery, signed over `body`."""
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(body, secret),
        "Content-Type": "application/json",
    }


def github(
    client: FlaskClient, event: str, payload: Any, delivery: str | None = None, secret: str = GITHUB_SECRET
) -> TestResponse:
    body = body_of(payload)
    return client.post("/webhooks/github", data=body, headers=github_headers(event, body, delivery, secret))


def jira(client: FlaskClient, payload: Any, delivery: str | None = None, secret: str = JIRA_SECRET) -> TestResponse:
    body = body_of(payload)
    headers = {
        "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4()),
        "X-Hub-Signature": jira_signature(body, secret),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/jira", data=body, headers=headers)


def fixture(tracker: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / tracker / f"{name}.json").read_text())


def fixture_path(tracker: str, name: str) -> Path:
    return FIXTURES / tracker / f"{name}.json"


def drain(app: Flask) -> int:
    """Process everything due, as the worker would, until nothing is left."""
    total = 0
    while done := inbox.process_due(runtime(app)):
        total += done
    return total
