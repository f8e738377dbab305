"""The stakeholders API: product owners manage, the team reads, auditors see no personal data; assignments."""

from __future__ import annotations

import pytest

from service.runtime import runtime
from service.storage.models import Hypothesis
from tests.conftest import auth, token_for
from tests.epics import add_epic

EPIC = "jira:PRM-12"
ANA = {"name": "Ana Citizen", "group": "citizen", "email": "ana@city.example", "scope": "jira:PRM"}


@pytest.fixture
def api(app):
    with runtime(app).transaction() as session:
        add_epic(session, EPIC)
        session.add(
            Hypothesis(epic_key=EPIC, statement="We believe ...", dimensions=["transparency"], stakeholders=["citizen"])
        )
    headers = {role: auth(token_for(app, role)) for role in ("auditor", "team", "product-owner")}
    return app.test_client(), headers


def test_product_owners_add_and_change_the_team_reads_auditors_see_no_personal_data(api) -> None:
    client, headers = api
    created = client.post("/api/v1/stakeholders", json=ANA, headers=headers["product-owner"])
    assert created.status_code == 201 and created.json["scope"] == ["jira:PRM"]
    assert "webhook_secret" not in created.json
    person = created.json["id"]
    assert client.post("/api/v1/stakeholders", json=ANA, headers=headers["team"]).status_code == 403
    seen = client.get(f"/api/v1/stakeholders/{person}", headers=headers["team"]).json
    assert (seen["name"], seen["email"], seen["channels"]) == ("Ana Citizen", "ana@city.example", ["email"])
    audited = client.get("/api/v1/stakeholders", headers=headers["auditor"]).json["items"][0]
    assert "name" not in audited and "email" not in audited and audited["channels"] == ["email"]
    assert "Ana" not in client.get(f"/api/v1/stakeholders/{person}", headers=headers["auditor"]).get_data(as_text=True)
    changed = client.patch(
        f"/api/v1/stakeholders/{person}",
        json={"webhook_url": "https://93.184.216.34/pvm"},
        headers=headers["product-owner"],
    )
    assert changed.status_code == 200 and changed.json["webhook_secret"].startswith("whsec_")
    again = client.get(f"/api/v1/stakeholders/{person}", headers=headers["product-owner"]).json
    assert "webhook_secret" not in again  # shown once


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "Ben", "group": "citzen"}, "group"),
        ({"name": "Ben", "group": "citizen", "webhook_url": "http://10.0.0.7/hook"}, "webhook_url"),
        ({"name": "Ben", "group": "citizen", "email": "not-an-address"}, "email"),
        ({"group": "citizen"}, "name"),
    ],
)
def test_invalid_stakeholders_get_422_naming_the_field(api, body, path) -> None:
    client, headers = api
    answer = client.post("/api/v1/stakeholders", json=body, headers=headers["product-owner"])
    assert answer.status_code == 422 and [d["path"] for d in answer.json["details"]] == [path]


def test_assigning_decides_who_is_asked_and_unassigning_puts_the_groups_back(api) -> None:
    client, headers = api
    po = headers["product-owner"]
    ana = client.post("/api/v1/stakeholders", json=ANA, headers=po).json["id"]
    ben = client.post("/api/v1/stakeholders", json={"name": "Ben", "group": "civil-servant"}, headers=po).json["id"]
    asked = client.get("/api/v1/hypotheses/1/stakeholders", headers=headers["auditor"]).json
    assert [item["id"] for item in asked["items"]] == [ana] and asked["unreachable_groups"] == []
    assert client.post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": ben}, headers=po).status_code == 201
    assert client.post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": ben}, headers=po).status_code == 200
    asked = client.get("/api/v1/hypotheses/1/stakeholders", headers=po).json
    assert [(i["id"], i["assigned"]) for i in asked["items"]] == [(ben, True)]
    assert asked["unreachable_groups"] == ["citizen"]
    assert client.delete(f"/api/v1/hypotheses/1/stakeholders/{ben}", headers=po).status_code == 204
    assert client.delete(f"/api/v1/hypotheses/1/stakeholders/{ben}", headers=po).status_code == 404
    assert client.post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": "x"}, headers=po).status_code == 422
    assert (
        client.post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": 10**12}, headers=po).status_code == 404
    )


def test_erasing_through_the_api(api) -> None:
    client, headers = api
    po = headers["product-owner"]
    ana = client.post("/api/v1/stakeholders", json=ANA, headers=po).json["id"]
    erased = client.post(f"/api/v1/stakeholders/{ana}/erase", headers=po)
    assert erased.status_code == 200 and erased.json["name"] == "(erased)" and erased.json["email"] is None
    assert erased.json["group"] == "citizen" and erased.json["erased_at"]
    assert client.post(f"/api/v1/stakeholders/{ana}/erase", headers=headers["team"]).status_code == 403
    assert client.get("/api/v1/log/verify", headers=headers["auditor"]).json["ok"] is True
