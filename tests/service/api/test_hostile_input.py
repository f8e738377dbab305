"""Hostile API requests get a 4xx that says what is wrong, on both engines, and errors are always JSON."""

from __future__ import annotations

import pytest

from service.runtime import runtime
from tests.conftest import auth, token_for
from tests.epics import add_epic

EPIC = "github:acme/portal#34"
HUGE = "99999999999999999999"
LISTS = [  # their cursor is a row id or the log's seq
    "/api/v1/log",
    "/api/v1/deliveries",
    "/api/v1/outbox",
    "/api/v1/hypotheses",
    "/api/v1/hypotheses/1/readings",
    "/api/v1/epics/github:acme/portal%2334/hypotheses",
]
KEYED_LISTS = ["/api/v1/epics", "/api/v1/iterations"]  # their cursor is a key: any text is a place in the order
MEASURED = {
    "statement": "We believe showing the refusal rules will result in fewer appeals",
    "dimensions": ["transparency"],
    "measure": {"name": "appeals", "baseline": {"value": 0.18, "date": "2026-09-01"}},
}


@pytest.fixture
def api(any_app):
    """A client, an admin's headers and one epic with one measured hypothesis (id 1)."""
    with runtime(any_app).transaction() as session:
        add_epic(session, EPIC)
    client, headers = any_app.test_client(), auth(token_for(any_app, "admin"))
    created = client.post("/api/v1/epics/github:acme/portal%2334/hypotheses", json=MEASURED, headers=headers)
    assert created.status_code == 201 and created.json["id"] == 1
    return client, headers


@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_past_every_row_is_an_empty_page(api, path) -> None:
    client, headers = api
    answer = client.get(f"{path}?after={HUGE}", headers=headers)
    assert answer.status_code == 200 and answer.json == {"items": [], "next": None}
    assert client.get(f"{path}?after=-{HUGE}", headers=headers).status_code == 200
    assert client.get(f"{path}?limit={'9' * 5000}", headers=headers).status_code == 400


@pytest.mark.parametrize("path", KEYED_LISTS)
def test_any_text_is_a_cursor_of_a_keyed_list(api, path) -> None:
    client, headers = api
    for after in (HUGE, "~" * 5000, "zzz\u00e4", "%F0%9F%98%80"):
        assert client.get(f"{path}?after={after}", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/deliveries/{HUGE}"),
        ("GET", f"/api/v1/hypotheses/{HUGE}"),
        ("PATCH", f"/api/v1/hypotheses/{HUGE}"),
        ("GET", f"/api/v1/hypotheses/{HUGE}/readings"),
        ("POST", f"/api/v1/hypotheses/{HUGE}/readings"),
        ("GET", f"/api/v1/outbox/{HUGE}"),
        ("POST", f"/api/v1/outbox/{HUGE}/retry"),
        ("GET", "/api/v1/hypotheses/2147483648"),
        ("PATCH", "/api/v1/hypotheses/9999999999"),
        ("PATCH", "/api/v1/hypotheses/0"),
    ],
)
def test_an_id_no_row_can_have_is_not_found(api, method, path) -> None:
    client, headers = api
    answer = client.open(path, method=method, json={"value": 1, "date": "2026-12-01"}, headers=headers)
    assert answer.status_code == 404 and answer.is_json and answer.json["error"]


def test_a_body_nested_100000_levels_deep_is_refused_with_where(api) -> None:
    client, headers = api
    body = '{"statement": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answer = client.patch("/api/v1/hypotheses/1", data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 400 and "nested more than 64 levels" in answer.json["error"]
    assert answer.json["details"][0]["path"] == "$"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
def test_numbers_that_are_not_finite_are_refused_everywhere_a_number_goes(api, number) -> None:
    client, headers = api
    reading = '{"value": NUMBER, "date": "2026-12-01"}'.replace("NUMBER", number)
    answer = client.post(
        "/api/v1/hypotheses/1/readings", data=reading, content_type="application/json", headers=headers
    )
    assert answer.status_code == 400 and "number" in answer.json["error"]
    measure = '{"measure": {"name": "appeals", "baseline": {"value": NUMBER, "date": "2026-09-01"}}}'.replace(
        "NUMBER", number
    )
    answer = client.patch("/api/v1/hypotheses/1", data=measure, content_type="application/json", headers=headers)
    assert answer.status_code == 400
    assert client.get("/api/v1/hypotheses/1/readings", headers=headers).json["items"] == []


def test_the_largest_finite_numbers_are_fine(api) -> None:
    client, headers = api
    answer = client.post(
        "/api/v1/hypotheses/1/readings", json={"value": 1.7e308, "date": "2026-12-01"}, headers=headers
    )
    assert answer.status_code == 201 and answer.json["value"] == 1.7e308


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        ("POST", "/api/v1/tokens", '{"name": "a\\u0000b", "role": "team"}', "$.name: the text contains a NUL"),
        (
            "PATCH",
            "/api/v1/hypotheses/1",
            '{"statement": "We \\u0000 believe"}',
            "$.statement: the text contains a NUL",
        ),
        ("PATCH", "/api/v1/hypotheses/1", '{"statement": "We \\ud800 believe"}', "lone surrogate"),
        ("POST", "/api/v1/tokens", '{"name": "x", "role": "team", "\\u0000": 1}', "the name contains a NUL"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_with_its_path(api, method, path, body, says) -> None:
    client, headers = api
    answer = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 400 and says in answer.json["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/log?kind=a%00b",
        "/api/v1/log?a%00=1",
        "/api/v1/epics/jira:PRM-1%00",
        "/api/v1/iterations?after=a%00",
        "/api/v1/hypotheses?status=%00",
    ],
)
def test_nul_in_the_address_is_refused_before_any_query(api, path) -> None:
    client, headers = api
    answer = client.get(path, headers=headers)
    assert answer.status_code == 400 and "NUL" in answer.json["error"]


def test_nul_in_a_page_address_or_form_field_is_refused_with_a_page(any_app) -> None:
    client = any_app.test_client()
    page = client.get("/epics/jira:PRM-1%00")
    assert page.status_code == 400 and b"NUL" in page.data and page.mimetype == "text/html"
    form = client.post("/signin", data={"token": "pvm_\x00"})
    assert form.status_code == 400 and b"the form field &#39;token&#39; contains a NUL" in form.data


def test_errors_of_machine_routes_are_json_and_405_says_what_is_allowed(app, monkeypatch) -> None:
    client = app.test_client()
    wrong_method = client.delete("/api/v1/log")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert set(wrong_method.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert client.get("/webhooks/github").status_code == 405 and client.get("/webhooks/github").is_json
    assert client.get("/api/v1/nothing-here").is_json

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("service.webhooks.views.registry.get", broken)
    monkeypatch.setattr("service.api.log.verify_database", broken)
    crashed = client.post("/webhooks/github", data=b"{}")
    assert crashed.status_code == 500 and crashed.is_json and "a bug" not in crashed.get_data(as_text=True)
    headers = auth(token_for(app, "auditor"))
    assert client.get("/api/v1/log/verify", headers=headers).is_json
