"""The hypotheses API: create, list with filters, change with reasons, readings; keys encoded or not; roles."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from service.runtime import runtime
from tests.conftest import auth, token_for
from tests.epics import add_epic

EPIC = "github:acme/benefits-portal#34"
OTHER = "jira:BEN-12"
FULL = {
    "statement": "We believe publishing the refusal rules for applicants will result in fewer appeals",
    "dimensions": ["transparency", "trust"],
    "stakeholders": ["citizen", "civil-servant"],
    "indicators": ["share of refusals appealed"],
    "measure": {
        "name": "refusals appealed",
        "baseline": {"value": 0.18, "date": "2026-09-01", "source": "case system"},
        "target": {"value": 0.10, "date": "2027-03-31"},
    },
    "owner": "service-owner",
    "risks": [{"dimension": "privacy", "description": "more data shown", "watch": "complaints about exposure"}],
    "trade-offs": ["efficiency"],
}
# `#` must always be encoded (a raw one starts the URL fragment); `/` and `:` may be either.
HALF_ENCODED = "github:acme/benefits-portal%2334"
ENCODED = quote(EPIC, safe="")


@pytest.fixture
def epics(app):
    with runtime(app).transaction() as session:
        add_epic(session, EPIC)
        add_epic(session, OTHER, title="Jira epic")


@pytest.fixture
def team(app):
    return auth(token_for(app, "team", name="team-alpha"))


def _create(client, headers, key=HALF_ENCODED, body=None):
    return client.post(f"/api/v1/epics/{key}/hypotheses", json=body or FULL, headers=headers)


@pytest.mark.parametrize("key", [HALF_ENCODED, ENCODED], ids=["slashes-raw", "fully-encoded"])
def test_create_and_read_back_with_key_encoded_or_not(app, epics, team, key) -> None:
    client = app.test_client()
    created = _create(client, team, key)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["epic_key"] == EPIC and body["origin"] == "api"
    assert body["dimensions"] == ["transparency", "trust-legitimacy"]  # the alias resolved
    assert body["risks"][0]["dimension"] == "privacy-security"
    assert body["trade_offs"] == ["efficiency"]
    assert (body["phase"], body["status"], body["confidence"]) == ("ex-ante", "proposed", None)
    assert body["measure"]["baseline"] == {"value": 0.18, "date": "2026-09-01", "source": "case system"}
    listed = client.get(f"/api/v1/epics/{key}/hypotheses", headers=team).json
    assert [h["id"] for h in listed["items"]] == [body["id"]] and listed["next"] is None
    assert client.get(f"/api/v1/hypotheses/{body['id']}", headers=team).json == listed["items"][0]
    log = client.get(f"/api/v1/log?subject=hypothesis:{body['id']}", headers=team).json["items"]
    assert [(e["kind"], e["actor"], e["source"]) for e in log] == [("hypothesis.created", "token:team-alpha", "api")]


def test_only_statement_and_dimensions_are_required(app, epics, team) -> None:
    response = _create(app.test_client(), team, body={"statement": "We believe", "dimensions": "outcomes"})
    assert response.status_code == 201
    assert response.json["dimensions"] == ["outcomes"] and response.json["measure"] is None


def test_unknown_epic_says_how_epics_become_known(app, team) -> None:
    response = _create(app.test_client(), team, key="github:acme/portal%23999")
    assert response.status_code == 404
    assert "github:acme/portal#999" in response.json["error"] and "webhook" in response.json["error"]
    assert app.test_client().get("/api/v1/epics/jira:NOPE-1/hypotheses", headers=team).status_code == 404


def test_invalid_bodies_get_a_path_per_error(app, epics, team) -> None:
    body = {
        "statement": "",
        "dimensions": ["transparancy"],
        "stakeholders": ["citzen"],
        "measure": {"name": "x", "target": {"value": "lots", "date": "31.03.2027"}},
        "confidence": "great",
    }
    response = _create(app.test_client(), team, body=body)
    assert response.status_code == 422
    details = {d["path"]: d["message"] for d in response.json["details"]}
    assert "did you mean 'transparency'" in details["dimensions.0"]
    assert "did you mean 'citizen'" in details["stakeholders.0"]
    assert "baseline" in details["measure.baseline"]
    assert "not a date" in details["measure.target.date"]
    assert "number" in details["measure.target.value"]
    assert set(details) >= {"statement", "confidence"}
    not_json = app.test_client().post(f"/api/v1/epics/{HALF_ENCODED}/hypotheses", data="x", headers=team)
    assert not_json.status_code == 415


def test_patch_merges_fields_and_status_needs_reason(app, epics, team) -> None:
    client = app.test_client()
    hid = _create(client, team).json["id"]
    url = f"/api/v1/hypotheses/{hid}"
    refused = client.patch(url, json={"status": "active"}, headers=team)
    assert refused.status_code == 422 and refused.json["details"][0]["path"] == "reason"
    changed = client.patch(
        url, json={"status": "active", "confidence": "at-risk", "reason": "pilot live in Kassel"}, headers=team
    )
    assert changed.status_code == 200
    assert (changed.json["status"], changed.json["confidence"]) == ("active", "at risk")
    assert changed.json["statement"] == FULL["statement"]  # untouched fields stay
    bad = client.patch(url, json={"dimensions": ["efficency"]}, headers=team)
    assert bad.status_code == 422 and "did you mean 'efficiency'" in bad.json["details"][0]["message"]
    kinds = client.get(f"/api/v1/log?subject=hypothesis:{hid}", headers=team).json["items"]
    assert [e["kind"] for e in kinds] == ["hypothesis.created", "hypothesis.updated"]
    assert kinds[1]["data"]["changes"]["status"] == {"old": "proposed", "new": "active"}
    assert kinds[1]["data"]["reason"] == "pilot live in Kassel"
    retired = client.patch(url, json={"status": "retired", "reason": "policy withdrawn"}, headers=team)
    assert retired.status_code == 200
    last = client.get(f"/api/v1/log?subject=hypothesis:{hid}", headers=team).json["items"][-1]
    assert last["kind"] == "hypothesis.retired"
    assert client.patch("/api/v1/hypotheses/999", json={}, headers=team).status_code == 404


def test_a_hypothesis_that_starts_past_proposed_needs_a_reason_and_keeps_it(app, epics, team) -> None:
    client = app.test_client()
    body = {"statement": "We believe the Kassel pilot cut appeals", "dimensions": ["outcomes"], "status": "supported"}
    refused = _create(client, team, body=body)
    assert refused.status_code == 422
    assert [(d["path"], "'supported' needs a reason" in d["message"]) for d in refused.json["details"]] == [
        ("reason", True)
    ]
    created = _create(client, team, body={**body, "reason": "Kassel pilot: appeals down from 18 % to 9 %"})
    assert created.status_code == 201 and created.json["status"] == "supported"
    [entry] = client.get(f"/api/v1/log?subject=hypothesis:{created.json['id']}", headers=team).json["items"]
    assert entry["data"]["reason"] == "Kassel pilot: appeals down from 18 % to 9 %"
    assert entry["data"]["new"]["status"] == "supported"


def test_list_filters_and_pages(app, epics, team) -> None:
    client = app.test_client()
    first = _create(client, team).json["id"]
    second = _create(client, team, key="jira:BEN-12", body={"statement": "B", "dimensions": ["efficiency"]}).json["id"]
    third = _create(client, team, body={"statement": "C", "dimensions": ["trust-legitimacy"]}).json["id"]
    client.patch(f"/api/v1/hypotheses/{third}", json={"status": "active", "reason": "go"}, headers=team)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/hypotheses{query}", headers=team)
        assert response.status_code == 200, response.json
        return [h["id"] for h in response.json["items"]]

    assert ids("") == [first, second, third]
    assert ids(f"?epic={quote(EPIC, safe='')}") == [first, third]
    assert ids("?status=active") == [third]
    assert ids("?phase=ex-ante&dimension=trust") == [first, third]
    assert ids("?dimension=efficiency") == [second]
    page = client.get("/api/v1/hypotheses?limit=2", headers=team).json
    assert [h["id"] for h in page["items"]] == [first, second] and page["next"] == second
    assert ids(f"?limit=2&after={page['next']}") == [third]
    unknown = client.get("/api/v1/hypotheses?dimension=transparancy", headers=team)
    assert unknown.status_code == 400 and "did you mean 'transparency'" in unknown.json["error"]


def test_readings(app, epics, team) -> None:
    client = app.test_client()
    hid = _create(client, team).json["id"]
    url = f"/api/v1/hypotheses/{hid}/readings"
    added = client.post(url, json={"value": 0.15, "date": "2026-12-01", "source": "case system"}, headers=team)
    assert added.status_code == 201
    assert {k: added.json[k] for k in ("value", "date", "source", "actor")} == {
        "value": 0.15,
        "date": "2026-12-01",
        "source": "case system",
        "actor": "token:team-alpha",
    }
    bad = client.post(url, json={"value": "x", "date": "soon"}, headers=team)
    assert bad.status_code == 422 and {d["path"] for d in bad.json["details"]} == {"value", "date"}
    assert [r["value"] for r in client.get(url, headers=team).json["items"]] == [0.15]
    log = client.get(f"/api/v1/log?subject=hypothesis:{hid}&kind=reading.recorded", headers=team).json["items"]
    assert log[0]["data"]["value"] == 0.15 and log[0]["data"]["measure"] == "refusals appealed"
    no_measure = _create(client, team, body={"statement": "S", "dimensions": ["outcomes"]}).json["id"]
    response = client.post(
        f"/api/v1/hypotheses/{no_measure}/readings", json={"value": 1, "date": "2026-12-01"}, headers=team
    )
    assert response.status_code == 409 and "measure" in response.json["error"]


@pytest.mark.parametrize(
    ("role", "allowed"), [("team", True), ("product-owner", True), ("admin", True), ("auditor", False)]
)
def test_roles_that_may_write(app, epics, role, allowed) -> None:
    client = app.test_client()
    headers = auth(token_for(app, role))
    response = _create(client, headers)
    assert response.status_code == (201 if allowed else 403)
    if not allowed:
        assert "auditor" in response.json["error"] and "team" in response.json["error"]
        writer = _create(client, auth(token_for(app, "team"))).json["id"]
        assert client.patch(f"/api/v1/hypotheses/{writer}", json={"owner": "x"}, headers=headers).status_code == 403
        readings = client.post(
            f"/api/v1/hypotheses/{writer}/readings", json={"value": 1, "date": "2026-01-01"}, headers=headers
        )
        assert readings.status_code == 403
        # ...but reads everything
        assert client.get(f"/api/v1/hypotheses/{writer}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/epics/{HALF_ENCODED}/hypotheses", headers=headers).status_code == 200


def test_project_taxonomy_is_used_for_validation(tmp_path) -> None:
    from tests.conftest import build_app, make_settings

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "taxonomy.yaml").write_text(
        "extends: default\ndimensions:\n  - slug: digital-inclusion\n    aliases: [offline-access]\n"
        "stakeholder_groups:\n  - slug: carer\n",
        encoding="utf-8",
    )
    app = build_app(make_settings(tmp_path / "instance", rules_dir=rules))
    with runtime(app).transaction() as session:
        add_epic(session, OTHER)
    headers = auth(token_for(app, "product-owner"))
    body = {"statement": "S", "dimensions": ["offline-access"], "stakeholders": ["carer"]}
    response = _create(app.test_client(), headers, key=OTHER, body=body)
    assert response.status_code == 201 and response.json["dimensions"] == ["digital-inclusion"]
    runtime(app).engine.dispose()


def test_block_sync_and_filters_on_each_engine(any_app) -> None:
    """JSON columns and the dimension filter behave the same on SQLite and PostgreSQL."""
    from service.hypotheses.blocks import sync_from_description

    description = (
        "```value-hypothesis\nid: appeals\nstatement: S\ndimensions: [transparency, trust]\n```\n"
        "{code:value-hypothesis}\nstatement: T\ndimensions: [efficiency]\nstakeholders: [civil-servant]\n{code}\n"
    )
    with runtime(any_app).transaction() as session:
        add_epic(session, EPIC)
        events = sync_from_description(session, epic_key=EPIC, description=description, actor="x", source="github")
        assert [e.kind for e in events] == ["hypothesis.created", "hypothesis.created"]
    with runtime(any_app).transaction() as session:
        assert sync_from_description(session, epic_key=EPIC, description=description, actor="x", source="github") == []
    headers = auth(token_for(any_app, "auditor"))
    client = any_app.test_client()
    found = client.get("/api/v1/hypotheses?dimension=trust-legitimacy", headers=headers).json["items"]
    assert [h["statement"] for h in found] == ["S"] and found[0]["block"] == "id:appeals"
    assert [
        h["block"] for h in client.get("/api/v1/hypotheses?dimension=efficiency", headers=headers).json["items"]
    ] == ["pos:1"]


def test_block_sync_outside_an_app_reads_the_rules_dir_from_the_environment(app, tmp_path, monkeypatch) -> None:
    """The worker calls sync without an app context: the project taxonomy still applies."""
    from service.hypotheses.blocks import sync_from_description

    rules = tmp_path / "project-rules"
    rules.mkdir()
    (rules / "taxonomy.yaml").write_text("extends: default\naliases:\n  transparency: [offenheit]\n", "utf-8")
    monkeypatch.setenv("PVM_RULES_DIR", str(rules))
    with runtime(app).transaction() as session:
        add_epic(session, OTHER)
        [event] = sync_from_description(
            session,
            epic_key=OTHER,
            description="{code:value-hypothesis}\nstatement: S\ndimensions: [offenheit]\n{code}",
            actor="jira:abc",
            source="jira",
        )
    assert event.kind == "hypothesis.created" and event.data.plain()["new"]["dimensions"] == ["transparency"]
