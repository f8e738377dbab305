"""REST API under /api/v1: bearer tokens, role checks before bodies, keyset-paginated lists."""

from __future__ import annotations

from flask import Flask

from service.api import errors

PREFIX = "/api/v1"


def init_app(app: Flask) -> None:
    from service.api import (
        checkins,
        deliveries,
        epics,
        hypotheses,
        iterations,
        log,
        openapi,
        outbox,
        reference,
        stakeholders,
        tokens,
    )

    for module in (log, tokens, deliveries, epics, iterations, hypotheses, stakeholders, checkins, outbox):
        app.register_blueprint(module.bp, url_prefix=PREFIX)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(reference.bp)
    errors.init_app(app)
