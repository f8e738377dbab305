"""GitLab end to end through the plugin: `/webhooks/gitlab` -> inbox -> worker -> state -> rule -> a note back.

The only thing absent is GitLab itself (a `responses` stand-in of its notes API); the endpoint, the worker, the
rules and the GitLab client are the real ones, found through the `pvm.integrations` entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from service.runtime import runtime
from service.storage.models import Delivery, OutboxItem, Ticket
from service.worker import Worker
from tests.conftest import FIXTURES, GITLAB_SECRET, auth, build_app, make_settings, token_for
from tests.integrations.gitlab.test_reply import GITLAB, TARGET, FakeGitlabIssue

HOOKS = {"issue": "Issue Hook", "note": "Note Hook"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = build_app(make_settings(tmp_path, gitlab_url=GITLAB, gitlab_token="glpat-test"))
    yield application
    runtime(application).engine.dispose()


def deliver(client: FlaskClient, name: str, token: str = GITLAB_SECRET, body: bytes | None = None) -> TestResponse:
    """POST a captured GitLab delivery as GitLab sends it: the secret verbatim in X-Gitlab-Token."""
    return client.post(
        "/webhooks/gitlab",
        data=body if body is not None else (FIXTURES / "gitlab" / f"{name}.json").read_bytes(),
        headers={
            "X-Gitlab-Event": HOOKS[name.split("__")[0]],
            "X-Gitlab-Token": token,
            "X-Gitlab-Event-UUID": f"uuid-{name}",
            "Content-Type": "application/json",
        },
    )


def work(app: Flask) -> None:
    worker = Worker(runtime(app))
    while worker.run_once():
        pass


def test_unknown_label_on_gitlab_is_answered_once_on_gitlab(app: Flask) -> None:
    client, issue = app.test_client(), FakeGitlabIssue()
    assert deliver(client, "issue__opened", token="wrong").status_code == 401
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        issue.install(mock)
        assert deliver(client, "issue__opened").status_code == 202
        work(app)
        assert deliver(client, "issue__labels_changed").status_code == 202  # adds value:transparancy
        work(app)
        assert deliver(client, "issue__labels_changed").status_code == 200  # a redelivery: no second reply
        work(app)

    assert issue.posts == 1 and len(issue.notes) == 1
    note = issue.notes[0]["body"]
    assert note.startswith("`value:transparancy` does not name a value dimension I know.")
    assert "Did you mean `value:transparency`?" in note
    with runtime(app).transaction() as session:
        ticket = session.get(Ticket, TARGET)
        assert ticket is not None and ticket.source == "gitlab"
        assert {label.name for label in ticket.labels} >= {"value:transparency", "value:accessibility-inclusion"}
        (reply,) = session.scalars(select(OutboxItem)).all()
        assert (reply.tracker, reply.target, reply.status) == ("gitlab", TARGET, "sent")
        assert reply.external_id == str(issue.notes[0]["id"])
        assert note.endswith(f"<!-- pvm-outbox:{reply.id}:{reply.created_at:%Y%m%d%H%M%S%f} -->")
        assert reply.cause and reply.cause.startswith("rule:unknown-value-label")
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(d.source, d.status) for d in deliveries] == [("gitlab", "processed")] * 2

    # GitLab sends the webhook secret verbatim: it is never stored with the delivery nor shown by the API.
    shown = client.get(f"/api/v1/deliveries/{deliveries[0].id}", headers=auth(token_for(app, "admin")))
    assert shown.status_code == 200 and shown.json["headers"]["x-gitlab-event"] == "Issue Hook"
    assert "x-gitlab-token" not in shown.json["headers"] and GITLAB_SECRET not in shown.get_data(as_text=True)


def test_our_own_note_coming_back_is_stored_and_ignored(app: Flask) -> None:
    """GitLab sends a Note Hook for the reply the service posted; acting on it would loop."""
    fixture = (FIXTURES / "gitlab" / "note__issue_comment.json").read_text()
    body = fixture.replace(
        '"/value +1 transparency \\"refusal reasons now shown on the decision page\\""',
        '"Did you mean `value:transparency`?\\n\\n<!-- pvm-outbox:1:20261128120000000000 -->"',
    )
    assert body != fixture
    client = app.test_client()
    with responses.RequestsMock():  # any request to GitLab would fail the test
        assert deliver(client, "note__issue_comment", body=body.encode()).status_code == 202
        work(app)
    with runtime(app).transaction() as session:
        (delivery,) = session.scalars(select(Delivery)).all()
        assert delivery.status == "ignored" and "outbox marker" in (delivery.error or "")
        assert session.scalars(select(OutboxItem)).all() == []
