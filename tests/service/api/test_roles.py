"""Every /api/v1 route refuses a missing token, an unknown token and every role not allowed to use it."""

import re

import pytest

from service.access import ROLES, allows
from service.app import create_app
from tests.conftest import auth, make_settings, token_for


def _routes():
    app = create_app(make_settings(__import__("pathlib").Path("/tmp/pvm-route-listing")))
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            view = app.view_functions[rule.endpoint]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, rule.rule, getattr(view, "required_permission", None)


ROUTES = list(_routes())


def _url(rule: str) -> str:
    # A row id (the `id` converter, or a name ending in id) is 1; anything else (a key) is x.
    return re.sub(
        r"<(?:([a-z]+):)?([a-z_]+)>", lambda m: "1" if m.group(1) == "id" or m.group(2).endswith("id") else "x", rule
    )


def test_every_route_declares_a_permission() -> None:
    assert ROUTES
    assert [r for r in ROUTES if r[2] is None] == []


@pytest.mark.parametrize(("method", "rule", "permission"), ROUTES, ids=[f"{m} {r}" for m, r, _ in ROUTES])
def test_route_refuses_missing_unknown_and_wrong_role(app, method, rule, permission) -> None:
    client = app.test_client()
    url = _url(rule)
    assert client.open(url, method=method, json={}).status_code == 401
    response = client.open(url, method=method, json={}, headers=auth("pvm_not-a-real-token"))
    assert response.status_code == 401
    assert "token" in response.json["error"]
    for role in ROLES:
        if not allows(role, permission):
            # Authorisation comes before the body is read: an empty body still gets 403, not 422.
            response = client.open(url, method=method, json={}, headers=auth(token_for(app, role)))
            assert response.status_code == 403, (role, method, url)
            assert role in response.json["error"]


def test_revoked_token_is_refused(app) -> None:
    from service import tokens
    from service.runtime import runtime

    secret = token_for(app, "admin", name="leaver")
    client = app.test_client()
    assert client.get("/api/v1/log", headers=auth(secret)).status_code == 200
    with runtime(app).transaction() as session:
        tokens.revoke(session, name="leaver", actor="test")
    assert client.get("/api/v1/log", headers=auth(secret)).status_code == 401
