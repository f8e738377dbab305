"""The security headers of every answer: pages, the API, webhooks, static files and errors alike.

Set with `setdefault`: a page that needs a stricter policy (service/web/display.py `private`, the pages holding an
answer link or personal data) sets its own and keeps it. Written out here rather than through an extension: five
fixed headers need no configuration language, and a test walks every route to see them.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from service.http_boundary import is_machine_route

# Scripts, styles and images only from this site's own files: no inline <script>, <style> or style="" (the templates
# keep none), so an injected tag or attribute does nothing. No framing by anyone (clickjacking), no <base> rewriting
# where relative links go, and forms post only back here.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# JSON and webhook answers are data, never rendered: nothing in them may load or run anything.
MACHINE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# A year; browsers remember it only from an answer that came over TLS (RFC 6797), so it is sent only then.
HSTS = "max-age=31536000; includeSubDomains"


def secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", MACHINE_POLICY if is_machine_route() else PAGE_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")  # a JSON or text answer is never run as script
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers that predate it
    # Links out (to a tracker, say) do not tell the other site which epic or round page they came from.
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
