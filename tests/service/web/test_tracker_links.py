"""A ticket's address is a link on the pages only when it is http(s) on the ticket's own tracker's host."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import update

from service.runtime import runtime
from service.storage.models import Ticket
from service.web.tracker_links import tracker_link
from tests.conftest import make_settings
from tests.epics import add_epic
from tests.service.web.test_hypothesis_pages import sign_in

SETTINGS = make_settings(Path("."), jira_url="https://city.atlassian.net")


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("github:acme/portal#34", "https://github.com/acme/portal/issues/34"),
        ("github:acme/portal#34", "HTTPS://GitHub.com/acme/portal/issues/34"),
        ("jira:BEN-12", "https://city.atlassian.net/browse/BEN-12"),
        ("gitlab:city/portal#5", "https://gitlab.com/city/portal/-/issues/5"),
        ("github:acme/portal#34", "https://github.com:443/acme/portal/issues/34#issuecomment-1"),
    ],
)
def test_an_address_on_the_trackers_host_is_a_link(key: str, url: str) -> None:
    assert tracker_link(key, url, SETTINGS) == url


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("github:acme/portal#34", "javascript:alert(document.cookie)"),
        ("github:acme/portal#34", "JavaScript:alert(1)//https://github.com/"),
        ("github:acme/portal#34", "data:text/html,<script>alert(1)</script>"),
        ("github:acme/portal#34", "https://evil.example/acme/portal/issues/34"),
        ("github:acme/portal#34", "https://github.com.evil.example/x"),
        ("github:acme/portal#34", "https://github.com@evil.example/x"),
        ("github:acme/portal#34", "https://evil.example\\@github.com/x"),  # a browser goes to evil.example
        ("github:acme/portal#34", "https://evil.example\\.github.com/x"),
        ("github:acme/portal#34", "https://github.com\t.evil.example/"),
        ("github:acme/portal#34", "//github.com/acme/portal/issues/34"),
        ("github:acme/portal#34", "ftp://github.com/acme"),
        ("github:acme/portal#34", "https:github.com/acme"),
        ("github:acme/portal#34", "https://gitlab.com/acme/portal/issues/34"),  # another tracker's host
        ("jira:BEN-12", "https://other.atlassian.net/browse/BEN-12"),  # not the configured site
        ("gitlab:city/portal#5", "https://gitlab.com:99999/city"),
        ("unknown:X-1", "https://github.com/x"),
    ],
)
def test_anything_else_is_not_a_link(key: str, url: str) -> None:
    assert tracker_link(key, url, SETTINGS) is None


def test_jira_without_a_configured_site_links_to_cloud_sites_only() -> None:
    settings = make_settings(Path("."))
    assert tracker_link("jira:BEN-12", "https://city.atlassian.net/browse/BEN-12", settings)
    assert tracker_link("jira:BEN-12", "https://atlassian.net.evil.example/browse/BEN-12", settings) is None
    assert tracker_link("jira:BEN-12", "https://.atlassian.net/browse/BEN-12", settings) is None


def test_github_enterprise_links_to_its_own_host() -> None:
    settings = make_settings(Path("."), github_api_url="https://ghe.city.example/api/v3")
    assert tracker_link("github:acme/portal#3", "https://ghe.city.example/acme/portal/issues/3", settings)
    assert tracker_link("github:acme/portal#3", "https://github.com/acme/portal/issues/3", settings) is None


HOSTS = {"github": "github.com", "jira": "city.atlassian.net", "gitlab": "gitlab.com"}


@given(
    st.sampled_from(sorted(HOSTS)),
    st.text(max_size=80)
    | st.builds(
        lambda scheme, host, rest: f"{scheme}{host}{rest}",
        st.sampled_from(["https://", "http://", "javascript:", "HTTPS://", "https:", "//", ""]),
        st.sampled_from([*HOSTS.values(), "evil.example", "github.com@evil.example", "evil.example\\@github.com"]),
        st.text(max_size=20),
    ),
)
@example("github", "javascript:alert(1)")
@example("github", "https://evil.example\\@github.com/")
def test_a_link_is_always_http_on_the_trackers_host(tracker: str, url: str) -> None:
    link = tracker_link(f"{tracker}:X-1", url, SETTINGS)
    if link is None:
        return
    parts = urlsplit(link)
    assert parts.scheme in ("http", "https")
    assert parts.hostname == HOSTS[tracker]
    # Nothing a browser reads differently from urlsplit: no backslash, whitespace, control character or user part.
    assert "\\" not in link and link.isprintable() and not any(c.isspace() for c in link)
    assert "@" not in parts.netloc


EPIC = "github:acme/portal#34"


@pytest.mark.parametrize(
    "url", ["javascript:alert(document.cookie)", "https://evil.example/acme/portal/issues/34"], ids=["js", "other-host"]
)
def test_the_epic_page_does_not_link_a_refused_address(app, url: str) -> None:
    with runtime(app).transaction() as session:
        add_epic(session, EPIC, title="Status online")
        session.execute(update(Ticket).where(Ticket.key == EPIC).values(url=url))
    client = app.test_client()
    sign_in(client, app, "auditor")
    page = client.get("/epics/github:acme/portal%2334").get_data(as_text=True)
    assert 'id="tracker-link-withheld"' in page
    assert "open in the tracker" not in page
    assert url not in html.unescape(page)  # neither as a link nor as text to copy


def test_the_epic_page_links_its_tracker(app) -> None:
    url = "https://github.com/acme/portal/issues/34"
    with runtime(app).transaction() as session:
        add_epic(session, EPIC, title="Status online")
        session.execute(update(Ticket).where(Ticket.key == EPIC).values(url=url))
    client = app.test_client()
    sign_in(client, app, "auditor")
    page = client.get("/epics/github:acme/portal%2334").get_data(as_text=True)
    assert f'<a href="{url}">open in the tracker</a>' in page
    assert "tracker-link-withheld" not in page
