"""Web pages for people (product owners, auditors, stakeholders) and the health check."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from service.web import health, pages

csrf = CSRFProtect()
# Blueprints that take no cookie-authenticated form posts: the API (bearer tokens) and tracker webhooks (signed
# bodies). CSRF stays on for every other POST.
CSRF_EXEMPT_PREFIXES = ("api_", "webhooks")


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    csrf.init_app(app)


def exempt_token_blueprints(app: Flask) -> None:
    """Call after every blueprint is registered: Flask-WTF exempts blueprint objects, not names."""
    for name, blueprint in app.blueprints.items():
        if name.startswith(CSRF_EXEMPT_PREFIXES):
            csrf.exempt(blueprint)
