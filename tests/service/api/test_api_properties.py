"""Property: whatever body or query a client sends, the API answers 2xx or 4xx with a JSON error, never 5xx, and
what it accepted can be read back, on both engines."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.runtime import runtime
from service.storage.models import CheckinRound
from tests.conftest import auth, token_for
from tests.epics import add_epic
from tests.hostile import ANY_CHARACTER, VALUES, dumps, mutated

EPIC = "github:acme/portal#34"
HYPOTHESIS = {
    "statement": "We believe publishing the refusal rules will result in fewer appeals",
    "dimensions": ["transparency", "trust"],
    "stakeholders": ["citizen"],
    "indicators": ["share of refusals appealed"],
    "measure": {
        "name": "refusals appealed",
        "baseline": {"value": 0.18, "date": "2026-09-01", "source": "case system"},
        "target": {"value": 0.10, "date": "2027-03-31"},
    },
    "owner": "service-owner",
    "risks": [{"dimension": "privacy", "description": "more data shown", "watch": "complaints"}],
    "trade-offs": ["efficiency"],
    "status": "active",
    "reason": "agreed at planning",
}
BODIES = {
    ("POST", f"/api/v1/epics/{quote(EPIC, safe='')}/hypotheses"): HYPOTHESIS,
    ("PATCH", "/api/v1/hypotheses/1"): {"status": "supported", "reason": "appeals down", "confidence": "on track"},
    ("POST", "/api/v1/hypotheses/1/readings"): {"value": 0.15, "date": "2026-12-01", "source": "case system"},
    ("POST", "/api/v1/tokens"): {"name": "audit-office", "role": "auditor"},
    ("POST", "/api/v1/stakeholders"): {
        "name": "Ana",
        "group": "citizen",
        "email": "ana@city.example",
        "scope": ["github:acme"],
    },
    ("PATCH", "/api/v1/stakeholders/1"): {"github": "ana", "jira": "5b10ac8d82e05b22cc7d4ef5", "scope": "jira:PRM"},
    ("POST", "/api/v1/checkins/1/answers"): {
        "group": "citizen",
        "score": -1,
        "confidence": "high",
        "dimension": "transparency",
        "text": "lost",
        "evidence_url": "https://example.org/x",
        "worse_off": "people without a phone",
    },
}
LISTS = ["/api/v1/log", "/api/v1/deliveries", "/api/v1/outbox", "/api/v1/hypotheses", "/api/v1/epics",
         "/api/v1/iterations", "/api/v1/hypotheses/1/readings", "/api/v1/stakeholders", "/api/v1/checkins",
         "/api/v1/checkins/1/answers"]  # fmt: skip
PARAMETERS = ["after", "limit", "kind", "subject", "actor", "status", "phase", "dimension", "epic", "source", "state",
              "group", "hypothesis", "iteration"]  # fmt: skip


@pytest.fixture
def api(any_app):
    with runtime(any_app).transaction() as session:
        add_epic(session, EPIC)
    client, headers = any_app.test_client(), auth(token_for(any_app, "admin"))
    path = f"/api/v1/epics/{quote(EPIC, safe='')}/hypotheses"
    assert client.post(path, json=HYPOTHESIS, headers=headers).status_code == 201
    assert (
        client.post("/api/v1/stakeholders", json={"name": "Ben", "group": "user"}, headers=headers).status_code == 201
    )
    with runtime(any_app).transaction() as session:
        session.add(CheckinRound(hypothesis_id=1, iteration_key=None, kind="ex-post", unique_key="ex-post:x:1"))
    return client, headers


def answered(response) -> Any:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code in (301, 308):  # Werkzeug merging `//` in a path: a redirect, not an error
        return None
    assert response.is_json, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.json["error"]
    return response.json


@given(route=st.sampled_from(sorted(BODIES)), data=st.data())
def test_any_body_gets_an_answer_that_is_not_a_server_error(api, route, data) -> None:
    client, headers = api
    method, path = route
    body = data.draw(mutated(BODIES[route]) | VALUES)
    reply = answered(
        client.open(path, method=method, data=dumps(body), content_type="application/json", headers=headers)
    )
    if method == "POST" and "readings" in path and isinstance(reply, dict) and "id" in reply:
        assert any(
            item["id"] == reply["id"] for item in answered(client.get(f"{path}?limit=500", headers=headers))["items"]
        )


@given(
    path=st.sampled_from(LISTS), query=st.dictionaries(st.sampled_from(PARAMETERS), st.text(ANY_CHARACTER, max_size=40))
)
def test_any_query_gets_an_answer_that_is_not_a_server_error(api, path, query) -> None:
    client, headers = api
    encoded = "&".join(
        f"{name}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}" for name, value in query.items()
    )
    answered(client.get(f"{path}?{encoded}", headers=headers))


@given(key=st.text(ANY_CHARACTER, min_size=1, max_size=60))
def test_any_key_in_a_path_gets_an_answer_that_is_not_a_server_error(api, key) -> None:
    client, headers = api
    encoded = quote(key.encode("utf-8", "surrogatepass"), safe="")
    for path in (f"/api/v1/epics/{encoded}", f"/api/v1/epics/{encoded}/hypotheses", f"/api/v1/iterations/{encoded}"):
        answered(client.get(path, headers=headers))
