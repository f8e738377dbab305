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
from tests.conftest import FIXTURES, GITHUB_SECRET, GITLAB_SECRET, JIRA_SECRET

GITLAB_HOOKS = {"issue": "Issue Hook", "note": "Note Hook", "push": "Push Hook"}


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


def gitlab(
    client: FlaskClient, hook: str, payload: Any, delivery: str | None = None, secret: str = GITLAB_SECRET
) -> TestResponse:
    headers = {
        "X-Gitlab-Event": hook,
        "X-Gitlab-Token": secret,
        "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/gitlab", data=body_of(payload), headers=headers)


def event_of(tracker: str, name: str) -> str:
    """The event header a fixture was sent with, from its name (`issues__labeled` -> `issues`); Jira: in the body."""
    kind = name.split("__", 1)[0]
    return {"github": kind, "gitlab": GITLAB_HOOKS.get(kind, kind)}.get(tracker, "")


def send(client: FlaskClient, tracker: str, event: str, payload: Any, delivery: str | None = None) -> TestResponse:
    """One signed delivery of any tracker."""
    if tracker == "github":
        return github(client, event, payload, delivery)
    if tracker == "gitlab":
        return gitlab(client, event, payload, delivery)
    return jira(client, payload, delivery)


def fixture_names(tracker: str) -> list[str]:
    return sorted(path.stem for path in (FIXTURES / tracker).glob("*.json"))


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


TYPICAL = {"github": ("issues", "issues__opened"), "jira": ("", "issue_created__story")}


def send_typical(client: FlaskClient, tracker: str, delivery: str | None = None) -> TestResponse:
    """A plain, valid delivery of the tracker: what must still be served after a bad one."""
    event, name = TYPICAL[tracker]
    return send(client, tracker, event, fixture(tracker, name), delivery)
