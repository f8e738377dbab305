"""Web pages for people (product owners, auditors, stakeholders) and the health check."""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from service.summaries import formats
from service.web import (
    answer,
    auditing,
    charts,
    dashboard,
    display,
    health,
    pages,
    people,
    rounds,
    stakeholders,
    transparency,
)

csrf = CSRFProtect()
# Blueprints that take no cookie-authenticated form posts: the API (bearer tokens) and tracker webhooks (signed
# bodies). CSRF stays on for every other POST.
CSRF_EXEMPT_PREFIXES = ("api_", "webhooks")


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    for blueprint in (
        pages.bp,
        answer.bp,
        rounds.bp,
        stakeholders.bp,
        dashboard.bp,
        charts.bp,
        transparency.bp,
        auditing.bp,
    ):
        app.register_blueprint(blueprint)
    app.add_template_filter(display.when, "when")
    for name, shown in (("num", formats.number), ("pct", formats.percent), ("score", formats.score)):
        app.add_template_filter(shown, name)
    people.harden_session_cookie(app)

    # Registered before CSRFProtect's own hook, so it runs first. Flask-WTF exempts blueprint objects, and this
    # finds them by name at request time: it works whenever the webhooks blueprint is registered.
    @app.before_request
    def _exempt_token_blueprints() -> None:
        name = request.blueprint
        if name and name.split(".", 1)[0].startswith(CSRF_EXEMPT_PREFIXES) and name in app.blueprints:
            csrf.exempt(app.blueprints[name])

    csrf.init_app(app)
