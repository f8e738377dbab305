"""`POST /webhooks/<name>` for every registered integration: detect, verify, store, answer.

`bp` is the blueprint, so the app can exempt it from CSRF (trackers sign their deliveries instead).
"""

from __future__ import annotations

import logging

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from service.webhooks.views import bp

log = logging.getLogger(__name__)


class SessionlessWebhooks(SecureCookieSessionInterface):
    """Flask's cookie sessions, except that a tracker's delivery gets none (a null session, and no Set-Cookie).

    Deliveries are authenticated by their signature, never by a cookie; building the signing serializer and
    reading the cookie for each one was a tenth of the intake's time. The session opens before the URL is
    matched, so the path decides.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/webhooks/"):
            return None  # Flask then uses a NullSession and skips saving it
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if type(app.session_interface) is SecureCookieSessionInterface:  # someone else's interface is left alone
        app.session_interface = SessionlessWebhooks()
    settings = app.extensions["pvm"].settings
    if settings.allow_unsigned_webhooks:
        # Loud on purpose: anyone who can reach the service can then write tickets and value-log entries.
        log.warning(
            "PVM_ALLOW_UNSIGNED_WEBHOOKS is on: webhooks from trackers without a configured secret are accepted "
            "UNSIGNED. Never run like this where the service is reachable by others."
        )


__all__ = ["bp", "init_app"]
