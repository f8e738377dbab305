"""`POST /webhooks/<name>` for every registered integration: detect, verify, store, answer.

`bp` is the blueprint, so the app can exempt it from CSRF (trackers sign their deliveries instead).
"""

from __future__ import annotations

import logging

from flask import Flask

from service.webhooks.views import bp

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    settings = app.extensions["pvm"].settings
    if settings.allow_unsigned_webhooks:
        # Loud on purpose: anyone who can reach the service can then write tickets and value-log entries.
        log.warning(
            "PVM_ALLOW_UNSIGNED_WEBHOOKS is on: webhooks from trackers without a configured secret are accepted "
            "UNSIGNED. Never run like this where the service is reachable by others."
        )


__all__ = ["bp", "init_app"]
