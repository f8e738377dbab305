"""Jira signature checking (`X-Hub-Signature: sha256=...`) and identity from the body."""

import hashlib
import hmac

import pytest

from integrations.base import WebhookError
from integrations.jira.webhook import identify, signature, verify

SECRET = "jira-secret"
BODY = b'{"webhookEvent":"jira:issue_created","timestamp":1795165200000}'


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature(BODY, SECRET) == expected
    assert verify({"x-hub-signature": expected}, BODY, SECRET)
    assert verify({"x-hub-signature": expected.replace("sha256", "SHA256")}, BODY, SECRET)


@pytest.mark.parametrize("value", ["", "sha256=", "sha1=abc", "sha256=" + "0" * 64, signature(BODY, "other")])
def test_wrong_or_missing_signature_is_refused(value: str) -> None:
    assert not verify({"x-hub-signature": value}, BODY, SECRET)
    assert not verify({}, BODY, SECRET)


def test_identify_reads_webhook_event_and_identifier() -> None:
    identity = identify(
        {"x-atlassian-webhook-identifier": "a1b2"},
        {"webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic"},
    )
    assert (identity.event, identity.delivery_id, identity.action) == ("jira:issue_updated", "a1b2", "issue_generic")


@pytest.mark.parametrize("payload", [{}, {"webhookEvent": ""}, {"webhookEvent": 7}])
def test_identify_without_webhook_event_names_it(payload: dict) -> None:
    with pytest.raises(WebhookError) as raised:
        identify({}, payload)
    assert raised.value.status == 400
    assert "webhookEvent" in str(raised.value)
