"""Hostile query values and keys on the summary, value-case, dashboard and log routes: a 4xx with a reason, never a
5xx (a NUL, a lone surrogate as it arrives over HTTP, 10 MB of text, NaN, a year-9999 date, 1,000 brackets)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import auth, token_for
from tests.service.web.test_hypothesis_pages import sign_in

SURROGATE = "%ED%A0%80"  # a lone surrogate, UTF-8 encoded as a client would send it: not valid UTF-8
VALUES = {"nul": "x%00y", "surrogate": SURROGATE, "big": "a" * 10_000_000, "nan": "NaN", "nesting": "%5B" * 1000}
API = [
    "/api/v1/iterations/jira%3Asprint%2F1/summary?framework={v}",
    "/api/v1/iterations/jira%3Asprint%2F1/summary?format={v}",
    "/api/v1/iterations/{v}/summary",
    "/api/v1/epics/{v}/case?format={v}",
    "/api/v1/log?since={v}&kind={v}",
    "/api/v1/log/consistency?old={v}",
]
PAGES = [
    "/iterations/{v}?framework={v}",
    "/iterations/jira:sprint/1?download={v}",
    "/epics/{v}/case?download={v}",
    "/dashboard?page={v}",
    "/log?until={v}&kind={v}",
    "/log/{v}",
]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_hostile_values_get_a_4xx_with_a_reason(app: Flask, name: str) -> None:
    value = VALUES[name]
    api, headers = app.test_client(), auth(token_for(app, "admin"))
    pages = app.test_client()
    sign_in(pages, app, "admin")
    for template in API:
        answer = api.get(template.format(v=value[:5000] if "{v}/" in template else value), headers=headers)
        assert 400 <= answer.status_code < 500, (template, answer.status_code)
        assert answer.get_json()["error"]
    for template in PAGES:
        answer = pages.get(template.format(v=value[:5000] if "{v}?" in template or template.endswith("{v}") else value))
        assert 400 <= answer.status_code < 500, (template, answer.status_code)
        assert "<main" in answer.get_data(as_text=True)


def test_a_year_9999_bound_is_a_valid_empty_range(app: Flask) -> None:
    answer = app.test_client().get("/api/v1/log?since=9999-12-31", headers=auth(token_for(app, "auditor")))
    assert answer.status_code == 200 and answer.get_json()["items"] == []
