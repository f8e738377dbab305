"""Which ticket addresses the pages may show as links: http(s) addresses on the ticket's own tracker's host.

A ticket's address comes from its tracker's payload (GitHub's `html_url`, GitLab's `url`, Jira's `self`), and a
payload is only as trustworthy as every hand that can shape it: a `javascript:` address rendered as a link runs in
the signed-in person's session, one on another host sends them somewhere that looks like their tracker. So an
address becomes a link only when it is http(s), names no user, and its host is the tracker's as configured:
GitHub's (github.com, or the host of PVM_GITHUB_API_URL for GitHub Enterprise Server), the host of PVM_JIRA_URL (any
Jira Cloud site, *.atlassian.net, when none is set) and the host of PVM_GITLAB_URL.
"""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from service.config import Settings

GITHUB_API_HOST = "api.github.com"
JIRA_CLOUD_SUFFIX = ".atlassian.net"
# RFC 3986's characters and `%`: nothing a browser would read differently from `urlsplit` (no `\`, no whitespace,
# no control character, no quote or angle bracket).
URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def _host(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


def allowed_host(tracker: str, host: str, settings: Settings) -> bool:
    """Is `host` (lower case) the host of `tracker`'s pages?"""
    if tracker == "github":
        api = _host(settings.github_api_url)
        return host == ("github.com" if api in (None, GITHUB_API_HOST) else api)
    if tracker == "jira":
        site = _host(settings.jira_url)
        return host == site if site else host.endswith(JIRA_CLOUD_SUFFIX) and len(host) > len(JIRA_CLOUD_SUFFIX)
    if tracker == "gitlab":
        return host == _host(settings.gitlab_url)
    return False


def tracker_link(key: str, url: str | None, settings: Settings) -> str | None:
    """`url` when the pages may link to it for the ticket `key`, else None (the page shows it as text, or not)."""
    if not url or len(url) > 2000 or not set(url) <= URL_CHARACTERS:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or not parts.hostname:
        return None
    if port is not None and not 0 < port < 65536:
        return None
    tracker = key.partition(":")[0]
    return url if allowed_host(tracker, parts.hostname, settings) else None
