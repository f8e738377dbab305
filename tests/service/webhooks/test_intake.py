"""`POST /webhooks/<tracker>`: every answer in the public contract, and nothing half-stored on a refusal."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integrations.github.webhook import signature
from service.runtime import runtime
from service.storage.models import Delivery
from tests import deliveries
from tests.conftest import GITHUB_SECRET, build_app, make_settings


def count(app, **where: str) -> int:
    with runtime(app).transaction() as session:
        query = select(func.count()).select_from(Delivery)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return int(session.scalar(query) or 0)


def test_new_delivery_is_stored_before_202(any_app) -> None:
    client = any_app.test_client()
    payload = deliveries.fixture("github", "issues__opened")
    response = deliveries.github(client, "issues", payload, delivery="d-1")
    assert response.status_code == 202
    assert response.json["delivery_id"] == "d-1" and response.json["status"] == "pending"
    with runtime(any_app).transaction() as session:
        row = session.scalars(select(Delivery)).one()
        assert (row.source, row.event, row.action, row.status) == ("github", "issues", "opened", "pending")
        assert json.loads(row.body) == payload
        assert "x-hub-signature-256" not in row.headers  # signatures are not kept
        assert row.headers["x-github-event"] == "issues"


def test_duplicate_delivery_answers_200_and_counts_once(any_app) -> None:
    client = any_app.test_client()
    payload = deliveries.fixture("jira", "issue_created__story")
    first = deliveries.jira(client, payload, delivery="jira-7")
    second = deliveries.jira(client, payload, delivery="jira-7")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json["id"] == first.json["id"]
    assert count(any_app) == 1


def test_concurrent_duplicates_count_once(any_app) -> None:
    """Jira may deliver twice at the same moment: the unique constraint, not a read-then-write, decides."""
    payload = deliveries.fixture("github", "issues__labeled")
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        client = any_app.test_client()
        barrier.wait()
        statuses.append(deliveries.github(client, "issues", payload, delivery="same-id").status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [202]
    assert count(any_app) == 1


def test_without_delivery_id_the_body_hash_deduplicates(app) -> None:
    client = app.test_client()
    body = json.dumps(deliveries.fixture("jira", "sprint_started__sprint37")).encode()
    headers = {"X-Hub-Signature": "sha256=" + __import__("hmac").new(b"jira-test-secret", body, "sha256").hexdigest()}
    first = client.post("/webhooks/jira", data=body, headers=headers)
    second = client.post("/webhooks/jira", data=body, headers=headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json["delivery_id"].startswith("sha256:")


def test_wrong_or_missing_signature_is_401_and_nothing_is_stored(app, caplog) -> None:
    client = app.test_client()
    payload = deliveries.fixture("github", "issues__opened")
    with caplog.at_level(logging.INFO):
        wrong = deliveries.github(client, "issues", payload, delivery="forged-1", secret="not-the-secret")
    assert wrong.status_code == 401 and "signature" in wrong.json["error"]
    assert "forged-1" in caplog.text
    body = json.dumps(payload).encode()
    missing = client.post("/webhooks/github", data=body, headers={"X-GitHub-Event": "issues"})
    assert missing.status_code == 401
    assert deliveries.jira(client, payload, secret="nope").status_code == 401
    assert count(app) == 0


def test_not_json_is_400(app) -> None:
    client = app.test_client()
    body = b"payload=%7B%22action%22%3A%22opened%22%7D"  # GitHub's form encoding, if chosen by mistake
    headers = {"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature(body, GITHUB_SECRET)}
    response = client.post("/webhooks/github", data=body, headers=headers)
    assert response.status_code == 400
    assert "not JSON" in response.json["error"] and "application/json" in response.json["error"]
    assert count(app) == 0


def test_missing_event_names_what_is_missing(app) -> None:
    client = app.test_client()
    body = json.dumps({"action": "opened"}).encode()
    response = client.post(
        "/webhooks/github", data=body, headers={"X-Hub-Signature-256": signature(body, GITHUB_SECRET)}
    )
    assert response.status_code == 400 and "X-GitHub-Event" in response.json["error"]
    response = deliveries.jira(client, {"timestamp": 1, "issue": {"key": "PERM-1"}})
    assert response.status_code == 400 and "webhookEvent" in response.json["error"]
    assert count(app) == 0


def test_wrong_type_deep_in_payload_is_400_naming_the_path(app, caplog) -> None:
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        response = deliveries.jira(
            client, deliveries.fixture("jira", "issue_created__malformed_labels"), delivery="j-9"
        )
    assert response.status_code == 400
    assert "$.issue.fields.labels[0] should be a string" in response.json["error"]
    assert "j-9" in caplog.text
    assert count(app) == 0


def test_too_large_is_413(tmp_path: Path) -> None:
    app = build_app(make_settings(tmp_path, max_webhook_bytes=1024))
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = json.dumps({"zen": "x" * 2000}).encode()
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature(body, GITHUB_SECRET)}
    response = app.test_client().post("/webhooks/github", data=body, headers=headers)
    assert response.status_code == 413 and "larger than" in response.json["error"]
    assert count(app) == 0


def test_secret_not_set_is_503_naming_the_variable(tmp_path: Path) -> None:
    app = build_app(make_settings(tmp_path, jira_webhook_secret=None))
    response = deliveries.jira(app.test_client(), deliveries.fixture("jira", "issue_created__story"))
    assert response.status_code == 503
    assert "PVM_JIRA_WEBHOOK_SECRET" in response.json["error"]
    assert count(app) == 0


def test_unsigned_intake_only_with_the_opt_in(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        app = build_app(make_settings(tmp_path, github_webhook_secret=None, allow_unsigned_webhooks=True))
    assert "UNSIGNED" in caplog.text  # loud at start
    body = json.dumps(deliveries.fixture("github", "ping__repository")).encode()
    response = app.test_client().post("/webhooks/github", data=body, headers={"X-GitHub-Event": "ping"})
    assert response.status_code == 202
    # The opt-in does not turn off checking where a secret is configured.
    assert deliveries.jira(app.test_client(), {"webhookEvent": "sprint_started"}, secret="wrong").status_code == 401


def test_database_unreachable_is_503(tmp_path: Path) -> None:
    app = build_app(make_settings(tmp_path))
    unreachable = make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:1/none")
    from service.storage.engine import make_engine

    runtime(app).engine = make_engine(unreachable)
    runtime(app).sessions.configure(bind=runtime(app).engine)
    response = deliveries.github(app.test_client(), "ping", deliveries.fixture("github", "ping__repository"))
    assert response.status_code == 503
    assert "database" in response.json["error"] and "retry" in response.json["error"]


def test_a_lock_file_that_cannot_be_made_is_503_and_nothing_is_stored(app, tmp_path: Path) -> None:
    from service.inbox import group_commit

    writer = group_commit.for_engine(runtime(app).engine)
    writer.turns = group_commit._WriterTurns(str(tmp_path / "gone" / "intake.lock"))  # its folder was removed, say
    response = deliveries.github(app.test_client(), "ping", deliveries.fixture("github", "ping__repository"))
    assert response.status_code == 503
    assert "nothing was stored" in response.json["error"] and "retry" in response.json["error"]
    assert count(app) == 0


def test_unknown_event_is_stored_as_ignored_with_reason(app) -> None:
    client = app.test_client()
    response = deliveries.github(client, "star", {"action": "created", "starred_at": "2026-11-28T10:00:00Z"})
    assert response.status_code == 202 and response.json["status"] == "ignored"
    with runtime(app).transaction() as session:
        row = session.scalars(select(Delivery)).one()
        assert row.status == "ignored" and "stars" in (row.error or "")


def test_unknown_tracker_is_404_listing_the_installed_ones(app) -> None:
    response = app.test_client().post("/webhooks/bitbucket", json={})
    assert response.status_code == 404
    assert "github" in response.json["error"] and "jira" in response.json["error"]


@pytest.mark.parametrize("method", ["get", "put"])
def test_only_post(app, method: str) -> None:
    assert getattr(app.test_client(), method)("/webhooks/github").status_code == 405
