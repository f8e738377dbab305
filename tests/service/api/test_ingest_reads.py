"""Read API over ingested state: deliveries, epics and iterations; keys accepted percent-encoded or not."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests import deliveries
from tests.conftest import auth, token_for


@pytest.fixture
def reader(app) -> dict[str, str]:
    return auth(token_for(app, "auditor"))


def load_github(app) -> None:
    client = app.test_client()
    for event, name in (
        ("issues", "issues__opened_epic"),
        ("issues", "issues__opened"),
        ("sub_issues", "sub_issues__sub_issue_added"),
        ("star", None),
    ):
        payload = deliveries.fixture("github", name) if name else {"action": "created"}
        assert deliveries.github(client, event, payload, delivery=f"{event}-{name}").status_code == 202
    deliveries.drain(app)


def test_deliveries_list_filters_and_detail(app, reader) -> None:
    load_github(app)
    client = app.test_client()
    items = client.get("/api/v1/deliveries", headers=reader).json["items"]
    assert [item["status"] for item in items] == ["processed", "processed", "processed", "ignored"]
    assert set(items[0]) == {
        "id",
        "source",
        "delivery_id",
        "event",
        "action",
        "permanent",
        "status",
        "attempts",
        "error",
        "received_at",
    }
    ignored = client.get("/api/v1/deliveries?status=ignored&source=github", headers=reader).json["items"]
    assert [(item["event"], item["delivery_id"]) for item in ignored] == [("star", "star-None")]
    assert "stars" in ignored[0]["error"]
    page = client.get("/api/v1/deliveries?limit=2", headers=reader).json
    assert len(page["items"]) == 2 and page["next"] == items[1]["id"]
    detail = client.get(f"/api/v1/deliveries/{items[0]['id']}", headers=reader).json
    assert detail["headers"]["x-github-event"] == "issues" and detail["body_bytes"] > 0
    assert client.get("/api/v1/deliveries?status=lost", headers=reader).status_code == 400
    assert client.get("/api/v1/deliveries/9999", headers=reader).status_code == 404


@pytest.mark.parametrize("encode", [True, False])
def test_epic_with_children_and_value_labels(app, reader, encode: bool) -> None:
    load_github(app)
    key = "github:city-council/permits#34"
    # `#` can never travel unencoded (it starts a fragment); `/` and `:` may.
    path = quote(key, safe="") if encode else key.replace("#", "%23")
    response = app.test_client().get(f"/api/v1/epics/{path}", headers=reader)
    assert response.status_code == 200, response.json
    epic = response.json
    assert (epic["key"], epic["phase"], epic["children"]) == (key, "ex-ante", 1)
    (child,) = epic["tickets"]
    assert child["key"] == "github:city-council/permits#36"
    assert child["value_labels"] == [{"name": "value:transparency", "dimension": "transparency", "polarity": "value"}]
    listing = app.test_client().get("/api/v1/epics", headers=reader).json
    assert [item["key"] for item in listing["items"]] == [key]


def test_unknown_epic_is_404_with_hint(app, reader) -> None:
    response = app.test_client().get("/api/v1/epics/jira:NOPE-1", headers=reader)
    assert response.status_code == 404 and "%23" in response.json["error"]


@pytest.mark.parametrize("encode", [True, False])
def test_iteration_with_its_tickets(app, reader, encode: bool) -> None:
    client = app.test_client()
    for name in ("sprint_started__sprint37", "issue_created__story", "issue_updated__sprint_removed"):
        assert deliveries.jira(client, deliveries.fixture("jira", name)).status_code == 202
    deliveries.drain(app)
    key = "jira:sprint/37"
    path = quote(key, safe="") if encode else key
    response = client.get(f"/api/v1/iterations/{path}", headers=reader)
    assert response.status_code == 200, response.json
    sprint = response.json
    assert (sprint["state"], sprint["name"]) == ("active", "PERM Sprint 37")
    (ticket,) = sprint["tickets"]
    assert ticket["key"] == "jira:PERM-14" and ticket["left_at"] is not None
    active = client.get("/api/v1/iterations?state=active", headers=reader).json["items"]
    assert [item["key"] for item in active] == [key]
    assert client.get("/api/v1/iterations/jira:sprint/99", headers=reader).status_code == 404
