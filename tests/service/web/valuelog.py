"""For the log pages' tests: a value log written the way production writes it (real tracker deliveries through the
webhook endpoints and the worker, a hypothesis block on an epic, a stakeholder through the API), a signed-in test
client, and the POST routes an auditor must be refused."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from service.hypotheses.blocks import sync_from_description
from service.runtime import runtime
from service.storage.models import Hypothesis
from tests.conftest import auth, token_for
from tests.deliveries import drain, fixture, send

EPIC = "jira:PERM-12"  # the epic of tests/fixtures/jira/issue_created__epic.json
DELIVERIES = (
    ("jira", "", "issue_created__epic"),
    ("jira", "", "issue_created__story"),
    ("jira", "", "issue_updated__labels"),
    ("jira", "", "sprint_started__sprint37"),
    ("github", "issues", "issues__opened"),
    ("github", "issues", "issues__labeled"),
    ("github", "issues", "issues__closed"),
)
BLOCK = """```value-hypothesis
statement: We believe publishing the refusal rules for applicants will result in fewer appeals
dimensions: [transparency, trust-legitimacy]
stakeholders: [citizen]
```
"""


def fill_log(app: Flask, epic: str = EPIC) -> None:
    """Real deliveries from tests/fixtures through the webhook endpoints and the worker, a hypothesis block edited on
    `epic` (a key the deliveries made known), and a stakeholder added and assigned to it through the API."""
    client = app.test_client()
    for tracker, event, name in DELIVERIES:
        assert send(client, tracker, event, fixture(tracker, name)).status_code == 202, name
    drain(app)
    with runtime(app).transaction() as session:
        sync_from_description(session, epic_key=epic, description=BLOCK, actor="jira:maria", source="jira")
        hypothesis = session.scalars(select(Hypothesis.id).where(Hypothesis.epic_key == epic)).first()
    owner = auth(token_for(app, "product-owner", name="po-permits"))
    added = client.post(
        "/api/v1/stakeholders",
        json={"name": "Residents' panel", "group": "citizen", "email": "panel@city.example"},
        headers=owner,
    )
    assert added.status_code == 201, added.json
    assigned = client.post(
        f"/api/v1/hypotheses/{hypothesis}/stakeholders", json={"stakeholder_id": added.json["id"]}, headers=owner
    )
    assert assigned.status_code in (200, 201), assigned.json


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def signed_in(app: Flask, role: str, name: str | None = None) -> FlaskClient:
    client = app.test_client()
    secret = token_for(app, role, name=name)
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin", data={"token": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def rewrite_as_attacker(app: Flask, statement: str, **params: object) -> None:
    """Change the log on this test's own SQLite database as someone with access to the database file could: drop the
    append-only triggers, then rewrite. What the pages must then show is the break, not hide it."""
    with runtime(app).engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS value_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS value_log_no_delete"))
        conn.execute(text(statement), params)


# Open to everyone, or authorised otherwise than by the session: signing in and out, and a stakeholder's answer
# link (the link is the capability; the form takes no session).
NOT_SESSION_WRITES = ("web.signin", "web.signout", "answer.")


def post_routes(app: Flask) -> list[str]:
    """A path for every page route that takes a POST from a signed-in person, with ids of rows that exist."""
    with runtime(app).transaction() as session:
        hypothesis = session.scalars(select(Hypothesis.id)).first() or 1
    paths = []
    adapter = app.url_map.bind("pvm.test")
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.endpoint.startswith(("api_", "webhooks", *NOT_SESSION_WRITES)):
            continue
        values = {name: hypothesis if name == "hypothesis_id" else 1 for name in rule.arguments}
        paths.append(adapter.build(rule.endpoint, values, method="POST"))
    return paths
