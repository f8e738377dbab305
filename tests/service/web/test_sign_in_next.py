"""After sign-in, `next` sends a person only to a path on this site: the open redirects an attacker tried, and any
string at all (hypothesis)."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from service.web.same_site import same_site_path
from tests.conftest import token_for
from tests.service.web.test_hypothesis_pages import csrf

BASE = "https://pvm.city.example/signin"


def browser_host(location: str) -> str | None:
    """Where a browser goes with this Location (WHATWG URL parsing, the parts that matter here): tabs and line breaks
    dropped anywhere, leading and trailing C0 controls and spaces dropped, `\\` read as `/`."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").strip("".join(map(chr, range(0x21))))
    return urlsplit(urljoin(BASE, cleaned.replace("\\", "/"))).hostname


ATTACKS = [
    "/\t/evil.example",  # `/%09/evil.example` once the query is decoded: the browser drops the tab
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "//evil.example/epics",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https://evil.example/epics",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "evil.example",
    "/\u3000/evil.example",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_sign_in_never_redirects_off_site(app, target: str) -> None:
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    response = client.post(f"/signin?next={quote(target, safe='')}", data={"token": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/epics"  # refused: the default page, not the target


def test_a_nul_in_next_is_refused_before_sign_in(app) -> None:
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin?next=%00//evil.example", data={"token": secret, "csrf_token": csrf(page)})
    assert response.status_code == 400 and "Location" not in response.headers
    assert same_site_path("\x00//evil.example") is None


def test_the_attackers_exact_url_is_refused(app) -> None:
    """As the attacker sent it: `/signin?next=/%09/evil.example`, not re-encoded by the test."""
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin?next=/%09/evil.example", data={"token": secret, "csrf_token": csrf(page)})
    assert response.headers["Location"] == "/epics"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/epics/jira:BEN-12", "/epics/jira:BEN-12"),
        ("/hypotheses/new?epic=jira:BEN-12", "/hypotheses/new?epic=jira:BEN-12"),
        ("/checkins/3", "/checkins/3"),
        ("/epics/jira:ÄRGER-1", "/epics/jira:%C3%84RGER-1"),  # a Location header must be ASCII
    ],
)
def test_a_same_site_path_is_followed(app, target: str, expected: str) -> None:
    client = app.test_client()
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    response = client.post(f"/signin?next={quote(target, safe='')}", data={"token": secret, "csrf_token": csrf(page)})
    assert response.headers["Location"] == expected


@given(st.text(max_size=60) | st.from_regex(r"\A[/\\\t\n\r a-z.:%0-9@]{0,12}\Z"))
@example("/\t/evil.example")
@example("/\\evil")
@example("//evil")
@example("https://evil")
def test_any_next_is_a_same_site_path_or_refused(target: str) -> None:
    accepted = same_site_path(target)
    if accepted is None:
        return
    assert accepted.isascii() and accepted.isprintable()
    assert accepted.startswith("/") and not accepted.startswith("//")
    assert browser_host(accepted) == "pvm.city.example", f"{target!r} -> {accepted!r} leaves the site"
