"""GitHub: webhook verification and payload normalisation (the outbound client lives in `client.py`)."""

from __future__ import annotations

from integrations.base import Integration
from integrations.github import events, webhook

integration = Integration(
    name="github",
    secret_variable="PVM_GITHUB_WEBHOOK_SECRET",
    secret=lambda settings: settings.github_webhook_secret,
    verify=webhook.verify,
    identify=webhook.identify,
    normalise=events.normalise,
)
