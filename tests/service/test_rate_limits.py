"""Rate limits per client address: failed sign-ins, failed API tokens and the public check-in form answer 429 with
Retry-After (an HTML page for people, a JSON error for the API); successful sign-ins never count."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from service.runtime import runtime
from tests.conftest import auth, build_app, make_settings, token_for
from tests.service.web.checkins import Asked, answer_path, open_round
from tests.service.web.test_hypothesis_pages import csrf


def limited_app(tmp_path: Path, **limits: object) -> Iterator[Flask]:
    app = build_app(make_settings(tmp_path, **limits))
    yield app
    runtime(app).engine.dispose()


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Flask]:
    yield from limited_app(
        tmp_path,
        signin_rate_limit="3 per minute",
        token_failure_rate_limit="3 per minute",
        checkin_form_rate_limit="3 per minute",
    )


def failed_sign_in(client, environ: dict[str, str] | None = None):
    environ = environ or {}
    page = client.get("/signin", environ_base=environ).get_data(as_text=True)
    return client.post("/signin", data={"token": "pvm_guess", "csrf_token": csrf(page)}, environ_base=environ)


def test_sign_in_guessing_is_stopped_with_a_page_saying_how_long_to_wait(strict) -> None:
    client = strict.test_client()
    for _ in range(3):
        assert failed_sign_in(client).status_code == 200  # the form again, with the error
    refused = failed_sign_in(client)
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = html.unescape(refused.get_data(as_text=True))
    assert "Too many sign-ins that failed from your address. Wait" in page and "<h1>429</h1>" in page
    # Even the right token waits: the limit is on the address, or guessing could go on between right answers.
    secret = token_for(strict, "auditor")
    form = client.get("/signin").get_data(as_text=True)
    assert client.post("/signin", data={"token": secret, "csrf_token": csrf(form)}).status_code == 429
    # The form itself is still shown (only sending it is limited), with its security headers.
    shown = client.get("/signin")
    assert shown.status_code == 200 and "frame-ancestors 'none'" in shown.headers["Content-Security-Policy"]


def test_successful_sign_ins_do_not_count(strict) -> None:
    client = strict.test_client()
    secret = token_for(strict, "auditor")
    for _ in range(6):
        page = client.get("/signin").get_data(as_text=True)
        response = client.post("/signin", data={"token": secret, "csrf_token": csrf(page)})
        assert response.status_code == 302
    assert failed_sign_in(client).status_code == 200


def test_each_address_has_its_own_count(strict) -> None:
    client = strict.test_client()
    for _ in range(3):
        failed_sign_in(client, {"REMOTE_ADDR": "192.0.2.1"})
    assert failed_sign_in(client, {"REMOTE_ADDR": "192.0.2.1"}).status_code == 429
    assert failed_sign_in(client, {"REMOTE_ADDR": "192.0.2.2"}).status_code == 200


def test_bearer_token_failures_answer_429_in_json(strict) -> None:
    client = strict.test_client()
    for path in ("/api/v1/log", "/api/v1/epics", "/api/v1/deliveries"):  # one count across the API's routes
        assert client.get(path, headers=auth("pvm_wrong")).status_code == 401
    refused = client.get("/api/v1/hypotheses", headers=auth("pvm_wrong"))
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    body = refused.json
    assert body["details"] == []
    assert body["error"].startswith("too many requests with an unknown or revoked token from your address; wait ")
    assert "Authorization: Bearer" in body["error"]


def test_requests_without_a_token_guess_nothing_and_do_not_count(strict) -> None:
    client = strict.test_client()
    for _ in range(6):
        assert client.get("/api/v1/log").status_code == 401
    assert client.get("/api/v1/log", headers=auth("pvm_wrong")).status_code == 401


def test_valid_tokens_never_use_up_the_failure_limit(strict) -> None:
    client = strict.test_client()
    headers = auth(token_for(strict, "auditor"))
    for _ in range(10):
        assert client.get("/api/v1/log", headers=headers).status_code == 200
    assert client.get("/api/v1/log", headers=auth("pvm_wrong")).status_code == 401


def test_the_public_answer_form_is_limited_with_a_page_in_plain_words(strict) -> None:
    with runtime(strict).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa")])
    path = answer_path(strict, asked.prompt_ids[0])
    client = strict.test_client()
    for _ in range(3):
        assert client.get(path).status_code == 200
    refused = client.get(path)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = html.unescape(refused.get_data(as_text=True))
    assert "<h1>Please wait a moment</h1>" in page and "Too many requests from your address" in page
    assert refused.headers["Cache-Control"] == "no-store"
    assert "Ana Costa" not in page  # nothing read from the link


def test_behind_a_trusted_proxy_the_client_address_counts(tmp_path: Path) -> None:
    for app in limited_app(tmp_path, signin_rate_limit="2 per minute", trusted_proxies=1):
        client = app.test_client()
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        for _ in range(2):
            page = client.get("/signin").get_data(as_text=True)
            client.post(
                "/signin",
                data={"token": "x", "csrf_token": csrf(page)},
                headers={"X-Forwarded-For": "198.51.100.7"},
                environ_base=proxy,
            )
        page = client.get("/signin").get_data(as_text=True)
        same = client.post(
            "/signin",
            data={"token": "x", "csrf_token": csrf(page)},
            headers={"X-Forwarded-For": "198.51.100.7"},
            environ_base=proxy,
        )
        other = client.post(
            "/signin",
            data={"token": "x", "csrf_token": csrf(page)},
            headers={"X-Forwarded-For": "198.51.100.8"},
            environ_base=proxy,
        )
        assert (same.status_code, other.status_code) == (429, 200)


def test_each_app_counts_afresh(tmp_path: Path) -> None:
    """One limiter per app: a test's (or a restarted process's) guesses do not carry over to the next."""
    for app in limited_app(tmp_path / "one", signin_rate_limit="1 per minute"):
        failed_sign_in(app.test_client())
        assert failed_sign_in(app.test_client()).status_code == 429
    for app in limited_app(tmp_path / "two", signin_rate_limit="1 per minute"):
        assert failed_sign_in(app.test_client()).status_code == 200
