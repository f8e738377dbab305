"""Client construction and transport faults shared by every tracker: auth modes, timeouts, what counts as sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from integrations.failures import Rejected
from integrations.github.client import make_client as github_client
from integrations.github.client import parse_issue_key
from integrations.transport import retry_after_seconds, transport_failure
from service.config import ConfigError, Settings
from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.processes import free_port

API = "https://ghe.example.gov/api/v3"
WIRE = "https://ghe.example.gov:443/api/v3"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def test_github_app_installation_token_on_enterprise_server() -> None:
    pem = _pem().replace("\n", "\\n")  # as pasted into one environment line
    settings = make_settings(
        Path("/nonexistent"),
        github_app_id="123456",
        github_app_private_key=pem,
        github_app_installation_id="987654",
        github_api_url=API,
    )
    client = github_client(settings)
    assert not isinstance(client, str)
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with responses.RequestsMock() as mock:
        token = mock.post(
            f"{WIRE}/app/installations/987654/access_tokens",
            status=201,
            json={
                "token": "ghs_installation",
                "expires_at": expires,
                "permissions": {"issues": "write", "metadata": "read"},
                "repository_selection": "selected",
            },
        )
        post = mock.post(
            f"{WIRE}/repos/acme/portal/issues/34/comments",
            status=201,
            json={"id": 77, "body": "hi", "user": {"login": "pvm[bot]"}},
        )
        assert client.comment("github:acme/portal#34", "hi") == "77"
    assert token.calls[0].request.headers["Authorization"].startswith("Bearer ")  # the App's JWT
    assert post.calls[0].request.headers["Authorization"] == "token ghs_installation"


def test_github_settings_that_are_missing_are_named() -> None:
    none = github_client(make_settings(Path("/nonexistent")))
    assert isinstance(none, str) and "PVM_GITHUB_TOKEN" in none and "PVM_GITHUB_APP_ID" in none
    partial = github_client(make_settings(Path("/nonexistent"), github_app_id="1"))
    assert isinstance(partial, str)
    assert "PVM_GITHUB_APP_PRIVATE_KEY" in partial and "PVM_GITHUB_APP_INSTALLATION_ID" in partial


def test_issue_keys_are_checked() -> None:
    assert parse_issue_key("github:acme/portal#34") == ("acme/portal", 34)
    with pytest.raises(Rejected, match="github:owner/repo#34"):
        parse_issue_key("jira:PROJ-1")


def test_refused_connection_is_known_not_sent_and_a_reset_may_be() -> None:
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"http://127.0.0.1:{free_port()}/x", data=b"{}", timeout=2)
    assert transport_failure(refused.value, "github", write=True).maybe_sent is False
    reset = requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    assert transport_failure(reset, "github", write=True).maybe_sent is True
    assert transport_failure(requests.ReadTimeout("late"), "github", write=True).maybe_sent is True
    assert transport_failure(requests.ReadTimeout("late"), "github", write=False).maybe_sent is False


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Sat, 28 Nov 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_tracker_timeout_setting_is_validated() -> None:
    assert Settings.from_env({"PVM_TRACKER_TIMEOUT": "7.5"}).tracker_timeout == 7.5
    assert Settings.from_env({}).tracker_timeout == 20.0
    with pytest.raises(ConfigError, match="PVM_TRACKER_TIMEOUT"):
        Settings.from_env({"PVM_TRACKER_TIMEOUT": "0"})


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("-----BEGIN RSA PRIVATE KEY-----\\nnot really a key\\n-----END RSA PRIVATE KEY-----", "not a readable PEM"),
        (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode(),
            "must be the App's RSA private key",
        ),
    ],
    ids=["garbled", "not-rsa"],
)
def test_a_bad_app_private_key_is_named_before_any_request(tmp_path: Path, key: str, expected: str) -> None:
    """PyGithub would only sign at the first request, failing each send as an unexpected error; the outbox keeps
    the rows `skipped` with the setting to fix instead, and sends nothing."""
    settings = make_settings(
        tmp_path, github_app_id="123456", github_app_private_key=key, github_app_installation_id="987654"
    )
    reason = github_client(settings)
    assert isinstance(reason, str) and "PVM_GITHUB_APP_PRIVATE_KEY" in reason and expected in reason
    assert "not really a key" not in reason and "PRIVATE KEY-----" not in reason

    app = build_app(settings)
    with runtime(app).transaction() as session:
        item = enqueue(session, tracker="github", action="comment", target="github:acme/portal#34", body={"text": "hi"})
        item_id = item.id
    with responses.RequestsMock():  # any request would fail the test
        Dispatcher(runtime(app)).dispatch_due()
    with runtime(app).transaction() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None and row.status == "skipped" and row.error == reason
    runtime(app).engine.dispose()
