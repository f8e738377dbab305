"""Every real captured payload (../shared/fixtures) goes through the real endpoint and the worker without raising:
each is stored, then either normalised into state or ignored with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import Delivery
from tests import deliveries
from tests.conftest import SHARED_FIXTURES, auth, token_for

pytestmark = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(),
    reason=f"the shared real-payload fixtures are not at {SHARED_FIXTURES}; conformance needs them",
)

# The README of the shared fixtures: this file is deliberately not a Jira event (no `webhookEvent`).
NOT_A_JIRA_EVENT = "example_anomalous_payload.json"


def octokit_examples() -> list[tuple[str, dict[str, Any]]]:
    index = json.loads((SHARED_FIXTURES / "github-octokit" / "index.json").read_text())
    return [(entry["name"], example) for entry in index for example in entry["examples"]]


def zulip_github() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((SHARED_FIXTURES / "github-zulip").glob("*.json")):
        event = path.name.removesuffix(".json").split("__", 1)[0]  # the README's header rule
        found.append((event, json.loads(path.read_text())))
    return found


def _outcomes(app) -> list[Delivery]:
    with runtime(app).transaction() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _check_all_settled(app, sent: int) -> None:
    deliveries.drain(app)
    rows = _outcomes(app)
    assert len(rows) == sent
    unsettled = [(r.event, r.action, r.status, r.error) for r in rows if r.status not in ("processed", "ignored")]
    assert unsettled == []
    for row in rows:
        if row.status == "ignored":
            assert row.error, f"{row.event} {row.action} ignored without a reason"


@pytest.mark.parametrize("collection", ["octokit", "zulip"])
def test_every_real_github_payload_is_accepted_and_settled(app, collection: str) -> None:
    payloads = octokit_examples() if collection == "octokit" else zulip_github()
    assert payloads
    client = app.test_client()
    for event, payload in payloads:
        response = deliveries.github(client, event, payload)
        assert response.status_code == 202, (event, payload.get("action"), response.json)
    _check_all_settled(app, len(payloads))


def test_every_real_jira_payload_is_accepted_and_settled(app) -> None:
    client = app.test_client()
    sent = 0
    for path in sorted((SHARED_FIXTURES / "jira-zulip").glob("*.json")):
        response = deliveries.jira(client, path.read_bytes())
        if path.name == NOT_A_JIRA_EVENT:
            assert response.status_code == 400
            assert "webhookEvent" in response.json["error"]
            continue
        assert response.status_code == 202, (path.name, response.json)
        sent += 1
    _check_all_settled(app, sent)


def test_real_payloads_become_state(app) -> None:
    """Spot checks that conformance is not just "nothing raised": real payloads land as tickets and labels."""
    client = app.test_client()
    labeled = json.loads((SHARED_FIXTURES / "github-zulip" / "issues__labeled.json").read_text())
    assert deliveries.github(client, "issues", labeled).status_code == 202
    assert deliveries.jira(client, (SHARED_FIXTURES / "jira-zulip" / "created_v2.json").read_bytes()).status_code == 202
    deliveries.drain(app)
    log = client.get("/api/v1/log?kind=ticket.created", headers=auth(token_for(app, "auditor"))).json["items"]
    assert {entry["subject"] for entry in log} == {"github:sbansal1999/testing-gh#9", "jira:BUG-15"}
