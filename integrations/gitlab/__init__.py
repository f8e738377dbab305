"""GitLab, built only through the plugin interface: an `Integration` registered under `pvm.integrations`."""

from __future__ import annotations

from integrations.base import Integration
from integrations.gitlab import client, events, webhook

integration = Integration(
    name="gitlab",
    secret_variable="PVM_GITLAB_WEBHOOK_SECRET",
    secret=lambda settings: settings.gitlab_webhook_secret,
    verify=webhook.verify,
    identify=webhook.identify,
    normalise=events.normalise,
    make_client=client.make_client,
    delivery_headers=("x-gitlab-event", "x-gitlab-event-uuid"),
)
