"""The pages a scoped token signs in to show only its projects; an expired token cannot sign in, nor stay in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from service import tokens
from service.runtime import runtime
from service.scopes import Scope, project_of
from service.storage.models import ApiToken, Stakeholder
from tests.service import scenario
from tests.service.web.test_hypothesis_pages import csrf, text

GH_EPIC, JIRA_EPIC = "github:acme/portal#1", "jira:PRM-1"


@pytest.fixture
def two_projects(app: Flask) -> dict[str, int]:
    ids = {}
    with runtime(app).transaction() as session:
        for name, epic in (("gh", GH_EPIC), ("jira", JIRA_EPIC)):
            scenario.epic(session, epic, title=f"Epic of {name}")
            hypothesis = scenario.hypothesis(session, epic)
            ids[f"{name}_round"] = scenario.round_(session, hypothesis, None).id
            person = Stakeholder(name=f"Resident {name}", group="citizen", scope=[project_of(epic)])
            session.add(person)
            session.flush()
            ids[f"{name}_person"] = person.id
    return ids


def _secret(app: Flask, role: str, scope: list[str], expires_at: datetime | None = None) -> str:
    with runtime(app).transaction() as session:
        return tokens.create(
            session,
            name=f"{role}-{len(scope)}-web",
            role=role,
            actor="test",
            scope=Scope.of(scope),
            expires_at=expires_at,
        )


def _sign_in(client: FlaskClient, secret: str) -> str:
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin?next=/epics", data={"token": secret, "csrf_token": csrf(page)})
    return response.headers.get("Location", "") if response.status_code == 302 else text(response)


def test_a_scoped_token_sees_only_its_projects_on_the_pages(app: Flask, two_projects: dict[str, int]) -> None:
    client = app.test_client()
    assert _sign_in(client, _secret(app, "product-owner", ["github:acme/portal"])) == "/epics"
    epics = text(client.get("/epics"))
    assert GH_EPIC in epics and JIRA_EPIC not in epics
    assert client.get("/epics/github:acme/portal%231").status_code == 200
    assert client.get("/epics/jira:PRM-1").status_code == 404
    assert client.get("/epics/jira:PRM-1/case").status_code == 404
    assert client.get("/hypotheses/new?epic=jira:PRM-1").status_code == 404
    assert client.get(f"/checkins/{two_projects['gh_round']}").status_code == 200
    assert client.get(f"/checkins/{two_projects['jira_round']}").status_code == 404
    rounds = text(client.get("/checkins"))
    assert f"/checkins/{two_projects['gh_round']}" in rounds and f"/checkins/{two_projects['jira_round']}" not in rounds
    people = text(client.get("/stakeholders"))
    assert "Resident gh" in people and "Resident jira" not in people
    assert client.get(f"/stakeholders/{two_projects['jira_person']}").status_code == 404
    dashboard = text(client.get("/dashboard"))
    assert "your token is limited to github:acme/portal" in dashboard


def test_an_unscoped_token_sees_every_project(app: Flask, two_projects: dict[str, int]) -> None:
    client = app.test_client()
    _sign_in(client, _secret(app, "auditor", []))
    epics = text(client.get("/epics"))
    assert GH_EPIC in epics and JIRA_EPIC in epics
    assert "your token is limited" not in text(client.get("/dashboard"))
    assert client.get(f"/checkins/{two_projects['jira_round']}").status_code == 403  # the auditor's role, not scope
    assert client.get(f"/stakeholders/{two_projects['jira_person']}").status_code == 200


def test_an_expired_token_cannot_sign_in_and_is_signed_out_once_it_expires(app: Flask) -> None:
    client = app.test_client()
    expired = _secret(app, "auditor", [], expires_at=datetime.now(UTC) - timedelta(days=1))
    page = _sign_in(client, expired)
    assert "token expired on" in page and "ask an admin for a new one" in page
    assert client.get("/epics").status_code == 302

    later = _secret(app, "team", ["jira:PRM"], expires_at=datetime.now(UTC) + timedelta(days=1))
    assert _sign_in(client, later) == "/epics"
    assert client.get("/epics").status_code == 200
    with runtime(app).transaction() as session:
        session.execute(
            update(ApiToken).where(ApiToken.name == "team-1-web").values(expires_at=datetime.now(UTC) - timedelta(1))
        )
    response = client.get("/epics")
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin")


def test_a_scoped_product_owner_adds_people_only_within_its_scope(app: Flask) -> None:
    client = app.test_client()
    _sign_in(client, _secret(app, "product-owner", ["github:acme/portal"]))
    form = csrf(client.get("/stakeholders/new").get_data(as_text=True))
    person = {"name": "Panel", "group": "citizen", "csrf_token": form}
    refused = client.post("/stakeholders/new", data={**person, "scope": ""})
    assert refused.status_code == 422
    assert "your token is limited to github:acme/portal: give a scope within it" in text(refused)
    assert client.post("/stakeholders/new", data={**person, "scope": "jira:PRM"}).status_code == 422
    added = client.post("/stakeholders/new", data={**person, "scope": "github:acme/portal"})
    assert added.status_code == 303
