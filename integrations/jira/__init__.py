"""Jira: webhook verification and payload normalisation (the outbound client lives in `client.py`)."""

from __future__ import annotations

from integrations.base import Integration
from integrations.jira import events, webhook

integration = Integration(
    name="jira",
    secret_variable="PVM_JIRA_WEBHOOK_SECRET",
    secret=lambda settings: settings.jira_webhook_secret,
    verify=webhook.verify,
    identify=webhook.identify,
    normalise=events.normalise,
)
