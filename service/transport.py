"""What "behind TLS" means here: the proxies trusted to say so, and the session cookie that is Secure only then.

A browser that reached the service over HTTPS must never send its session cookie over plain HTTP, so the cookie is
`Secure` whenever the request came over TLS: directly, or through the PVM_TRUSTED_PROXIES proxies that say so in
X-Forwarded-Proto. On plain HTTP (`pvm serve` on a laptop) a Secure cookie would never come back, so it is not set.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Settings


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with `Secure` decided per request rather than once per app."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def init_app(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies:
        # Only as many X-Forwarded-* hops as there are proxies: a client's own X-Forwarded-For is not believed.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    app.config["SESSION_COOKIE_HTTPONLY"] = True  # no script reads the session
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # not sent on cross-site posts: a second guard besides CSRF tokens
    app.session_interface = TlsAwareSessionInterface()
