"""Web pages for people (product owners, auditors, stakeholders) and the health check."""

from __future__ import annotations

from flask import Flask

from service.web import health


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
