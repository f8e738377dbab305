"""Jira: webhook verification, payload normalisation and the outbound client."""

from __future__ import annotations

from integrations.base import Integration, TrackerClient
from integrations.jira import events, webhook
from service.config import Settings


def make_client(settings: Settings) -> TrackerClient | str:
    # Imported here so that receiving webhooks never loads the API library.
    from integrations.jira import client

    return client.make_client(settings)


integration = Integration(
    name="jira",
    secret_variable="PVM_JIRA_WEBHOOK_SECRET",
    secret=lambda settings: settings.jira_webhook_secret,
    verify=webhook.verify,
    identify=webhook.identify,
    normalise=events.normalise,
    make_client=make_client,
    delivery_headers=("x-atlassian-webhook-identifier",),  # the event is in the body (`webhookEvent`)
)
