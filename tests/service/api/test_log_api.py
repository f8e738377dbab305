from datetime import UTC, datetime

from service import valuelog
from service.runtime import runtime
from tests.conftest import auth, token_for


def _fill(app) -> None:
    with runtime(app).transaction() as session:
        for n in range(12):
            valuelog.append(
                session,
                kind="label.added" if n % 2 else "label.removed",
                subject=f"jira:PROJ-{n % 3}",
                data={"n": n},
                actor=f"jira:user{n % 2}",
                source="jira",
            )


def test_pages_oldest_first_with_seq_cursor(app) -> None:
    _fill(app)
    headers = auth(token_for(app, "auditor"))  # token.created is entry 13
    client = app.test_client()
    first = client.get("/api/v1/log?limit=5", headers=headers).json
    assert [e["seq"] for e in first["items"]] == [1, 2, 3, 4, 5]
    assert first["next"] == 5
    second = client.get(f"/api/v1/log?limit=5&after={first['next']}", headers=headers).json
    assert [e["seq"] for e in second["items"]] == [6, 7, 8, 9, 10]
    last = client.get("/api/v1/log?limit=5&after=10", headers=headers).json
    assert [e["seq"] for e in last["items"]] == [11, 12, 13]
    assert last["next"] is None
    assert set(first["items"][0]) == {"seq", "at", "actor", "source", "kind", "subject", "data", "prev_hash", "hash"}


def test_filters(app) -> None:
    _fill(app)
    headers = auth(token_for(app, "team"))
    client = app.test_client()
    added = client.get("/api/v1/log?kind=label.added", headers=headers).json["items"]
    assert {e["kind"] for e in added} == {"label.added"} and len(added) == 6
    family = client.get("/api/v1/log?kind=label.*", headers=headers).json["items"]
    assert len(family) == 12
    subject = client.get("/api/v1/log?subject=jira:PROJ-1&actor=jira:user1", headers=headers).json["items"]
    assert [e["data"]["n"] for e in subject] == [1, 7]


def test_bad_paging_arguments_say_what_is_wrong(app) -> None:
    headers = auth(token_for(app, "auditor"))
    client = app.test_client()
    response = client.get("/api/v1/log?limit=501", headers=headers)
    assert response.status_code == 400 and "500" in response.json["error"]
    response = client.get("/api/v1/log?after=abc", headers=headers)
    assert response.status_code == 400 and "next" in response.json["error"]


def test_verify_endpoint(app) -> None:
    _fill(app)
    result = app.test_client().get("/api/v1/log/verify", headers=auth(token_for(app, "auditor"))).json
    assert result["ok"] is True and result["entries"] == 13


def test_tokens_api_creates_usable_token_and_logs_it(app, admin_headers) -> None:
    client = app.test_client()
    created = client.post("/api/v1/tokens", json={"name": "ci-bot", "role": "team"}, headers=admin_headers)
    assert created.status_code == 201
    assert client.get("/api/v1/log", headers=auth(created.json["token"])).status_code == 200
    invalid = client.post("/api/v1/tokens", json={"name": "", "role": "boss"}, headers=admin_headers)
    assert invalid.status_code == 422
    assert {d["path"] for d in invalid.json["details"]} == {"name", "role"}
    listed = client.get("/api/v1/tokens", headers=admin_headers).json["items"]
    assert "ci-bot" in {t["name"] for t in listed}
    assert all("token" not in t for t in listed)
    assert client.delete("/api/v1/tokens/ci-bot", headers=admin_headers).status_code == 204
    kinds = [e["kind"] for e in client.get("/api/v1/log?subject=token:ci-bot", headers=admin_headers).json["items"]]
    assert kinds == ["token.created", "token.revoked"]


def test_openapi_lists_routes_with_roles(app) -> None:
    document = app.test_client().get("/api/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert document["paths"]["/api/v1/log"]["get"]["x-roles"] == ["auditor", "team", "product-owner", "admin"]
    assert document["paths"]["/api/v1/tokens"]["post"]["x-roles"] == ["admin"]


def test_time_range_filters_and_what_a_bad_one_gets(app) -> None:
    with runtime(app).transaction() as session:
        for day in (27, 28, 29):
            valuelog.append(
                session,
                kind="label.added",
                subject="jira:PROJ-1",
                actor="jira:user0",
                source="jira",
                at=datetime(2026, 11, day, 12, tzinfo=UTC),
            )
    headers = auth(token_for(app, "auditor"))
    client = app.test_client()
    one_day = client.get("/api/v1/log?since=2026-11-28&until=2026-11-28", headers=headers).json["items"]
    assert [e["at"] for e in one_day] == ["2026-11-28T12:00:00.000000Z"]
    from_noon = client.get("/api/v1/log?kind=label.*&since=2026-11-28T12:00:00Z", headers=headers).json["items"]
    assert [e["seq"] for e in from_noon] == [2, 3]
    bad = client.get("/api/v1/log?since=tomorrow&until=2026-11-31", headers=headers)
    assert bad.status_code == 400
    assert [d["path"] for d in bad.json["details"]] == ["since", "until"]
    assert "since must be a day such as 2026-11-28" in bad.json["error"]
