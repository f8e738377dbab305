"""How stored values read on pages: moments in plain words, and the headers of pages that hold capabilities."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.wrappers import Response

# No script at all and styles only from this site's own stylesheet: the pages that carry a personal answer link (a
# capability) or a stakeholder's contacts are the ones an injected script would most want to read.
STRICT_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def when(moment: datetime | None, empty: str = "not set") -> str:
    """`2 March 2027, 17:00 UTC`: the day and month in words, so nobody mistakes 03/02 for 2 March or 3 February."""
    if moment is None:
        return empty
    at = moment.astimezone(UTC)
    return f"{at.day} {at:%B %Y, %H:%M} UTC"


def private(response: Response) -> Response:
    """A page with a capability or personal data in it: never cached, never indexed, its address never sent on as a
    referrer to another site (the answer link is in the address), and no script may run in it.

    `same-origin`, not `no-referrer`: the page's own form posts back to this site, and behind TLS Flask-WTF refuses
    a post whose Referer is missing (its check that the form came from this site)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Content-Security-Policy"] = STRICT_POLICY
    return response
