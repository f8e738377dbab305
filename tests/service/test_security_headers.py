"""Every answer carries the security headers: each registered GET route, signed in or not, page or API, success or
error; HSTS and the Secure session cookie only behind TLS (directly, or through a trusted proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import Rule

from service.runtime import runtime
from service.security_headers import HSTS
from tests.conftest import auth, build_app, make_settings, token_for
from tests.epics import add_epic
from tests.service.web.checkins import Asked, answer_path, open_round
from tests.service.web.test_hypothesis_pages import csrf, sign_in

# A sample value per converter: a row id, a tracker key, any other text; static files get a real file name.
SAMPLES = {"RowId": 1, "PathConverter": "jira:BEN-12"}


def url_of(rule: Rule) -> str:
    values = {
        name: "style.css" if name == "filename" else SAMPLES.get(type(converter).__name__, "x")
        for name, converter in rule._converters.items()
    }
    built = rule.build(values)
    assert built is not None, rule.rule
    return built[1]


def assert_secured(response, where: str) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, f"{where}: {policy!r}"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert "Strict-Transport-Security" not in headers, f"{where}: HSTS over plain HTTP"


@pytest.fixture
def known(app) -> Flask:
    with runtime(app).transaction() as session:
        add_epic(session, "jira:BEN-12", title="Status online")
        open_round(session, [Asked("Ana Costa")])
    return app


def test_every_get_route_answers_with_the_security_headers(known) -> None:
    app = known
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())]
    assert len(rules) > 30  # the walk covers the pages, the API and the static files
    anonymous = app.test_client()
    person = app.test_client()
    sign_in(person, app, "admin")
    bearer = auth(token_for(app, "admin"))
    statuses = set()
    for rule in rules:
        url = url_of(rule)
        for who, client, headers in (
            ("anonymous", anonymous, {}),
            ("signed in", person, {}),
            ("token", anonymous, bearer),
        ):
            response = client.get(url, headers=headers)
            statuses.add(response.status_code)
            assert_secured(response, f"GET {url} ({who}) -> {response.status_code}")
            assert response.status_code < 500, f"GET {url} ({who}) failed: {response.status_code}"
    assert {200, 302, 401, 404} <= statuses  # successes, redirects to sign-in and errors alike


def test_pages_and_machine_answers_get_their_own_policy(known) -> None:
    client = known.test_client()
    page = client.get("/signin").headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "style-src 'self'" in page and "form-action 'self'" in page
    api = client.get("/api/v1/log").headers["Content-Security-Policy"]
    assert api.startswith("default-src 'none'")
    answer = client.get(answer_path(known, 1))
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")  # stricter, kept
    assert answer.headers["Cache-Control"] == "no-store"


def test_errors_and_other_methods_carry_them_too(known) -> None:
    client = known.test_client()
    for response, where in (
        (client.get("/no/such/page"), "404 page"),
        (client.get("/api/v1/nothing"), "404 api"),
        (client.delete("/api/v1/log"), "405 api"),
        (client.post("/webhooks/github", data=b"{}", headers={"X-GitHub-Event": "ping"}), "401 webhook"),
        (client.post("/webhooks/nowhere", data=b"{}"), "404 webhook"),
        (client.post("/signin", data={"token": "x"}), "400 csrf"),
    ):
        assert_secured(response, where)


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(make_settings(tmp_path, trusted_proxies=1))
    yield app
    runtime(app).engine.dispose()


def session_cookie(response) -> str:
    [cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    return cookie


def test_over_tls_hsts_and_a_secure_cookie(app) -> None:
    client = app.test_client()
    response = client.get("/signin", base_url="https://pvm.city.example")
    assert response.headers["Strict-Transport-Security"] == HSTS
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_over_plain_http_no_hsts_and_a_cookie_that_still_comes_back(app) -> None:
    response = app.test_client().get("/signin")
    assert "Strict-Transport-Security" not in response.headers
    cookie = session_cookie(response)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_trusted_proxy_saying_https_counts_as_tls(behind_proxy) -> None:
    response = behind_proxy.test_client().get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert "Secure" in session_cookie(response)


def test_without_trusted_proxies_a_forwarded_proto_is_not_believed(app) -> None:
    response = app.test_client().get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in session_cookie(response)


TLS = "https://pvm.city.example"


def test_sign_in_over_tls_keeps_the_session_secure(app) -> None:
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin", base_url=TLS).get_data(as_text=True)
    # A browser sends the Referer back to the same site (Referrer-Policy: same-origin); Flask-WTF requires it on TLS.
    referer = {"Referer": f"{TLS}/signin"}
    response = client.post("/signin", data={"token": secret, "csrf_token": csrf(page)}, base_url=TLS, headers=referer)
    assert response.status_code == 302 and "Secure" in session_cookie(response)


def test_the_answer_form_posts_over_tls(known) -> None:
    """Its page sends no referrer elsewhere, but does send one back here: without it the post would be refused."""
    client = known.test_client()
    path = answer_path(known, 1)
    page = client.get(path, base_url=TLS)
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.get_data(as_text=True)
    form = {"score": "1", "csrf_token": csrf(page.get_data(as_text=True))}
    response = client.post(path, data=form, base_url=TLS, headers={"Referer": f"{TLS}{path}"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
