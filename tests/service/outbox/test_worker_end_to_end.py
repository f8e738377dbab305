"""`pvm worker` and `pvm serve` as real processes against local GitHub and Jira stand-ins: a comment answered too
late, and a signed webhook answered on the issue it came from."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.github.webhook import signature
from service.outbox import enqueue
from service.runtime import Runtime, runtime
from service.storage.models import OutboxItem
from tests.conftest import FIXTURES, build_app, make_settings
from tests.processes import free_port, process_env, run, start, stop, wait_healthy
from tests.service.outbox.local_trackers import LocalTracker, TrackerState


def _rows(rt: Runtime) -> dict[str, OutboxItem]:
    with rt.transaction() as session:
        rows = session.query(OutboxItem).all()
        for row in rows:
            session.expunge(row)
    return {row.target: row for row in rows}


def _wait_for(rt: Runtime, done, what: str, timeout: float = 30) -> dict[str, OutboxItem]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(rt)
        if done(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(
        f"{what} did not happen within {timeout}s: {[(r.target, r.status, r.error) for r in rows.values()]}"
    )


def test_worker_posts_every_comment_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    rt = runtime(build_app(make_settings(tmp_path, url)))
    slow = TrackerState(slow_posts=1, delay=3.0)  # accepts the first comment, answers after the client gave up
    with LocalTracker(slow) as github, LocalTracker() as jira:
        with rt.transaction() as session:
            enqueue(
                session,
                tracker="github",
                action="comment",
                target="github:acme/portal#34",
                body={"text": "Did you mean `value:transparency`?"},
                cause="delivery:1",
            )
            enqueue(
                session,
                tracker="jira",
                action="comment",
                target="jira:PROJ-12",
                body={"text": "The hypothesis block has errors:\n* measure.baseline.value: required"},
            )
            enqueue(
                session,
                tracker="github",
                action="comment",
                target="github:acme/portal#35",
                body={"text": "Sprint 37 value summary"},
            )
        env = process_env(
            tmp_path,
            DATABASE_URL=url,
            PVM_ENV="test",
            PVM_GITHUB_TOKEN="ghp_e2e",
            PVM_GITHUB_API_URL=github.url,
            PVM_JIRA_URL=jira.url,
            PVM_JIRA_EMAIL="bot@acme.example",
            PVM_JIRA_API_TOKEN="atl-e2e",
            PVM_TRACKER_TIMEOUT="1",
        )
        worker = start(["pvm", "worker"], env)
        try:
            rows = _wait_for(rt, lambda r: r["github:acme/portal#34"].status == "failed", "the timed-out attempt")
            first = rows["github:acme/portal#34"]
            assert first.maybe_sent and "timeout" in (first.error or "")
            # Time passes: the backoff is due now (the test does not wait 15-30 s of real backoff).
            with rt.transaction() as session:
                row = session.get(OutboxItem, first.id)
                assert row is not None
                row.next_attempt_at = datetime.now(UTC)
            rows = _wait_for(rt, lambda r: all(x.status == "sent" for x in r.values()), "every row sent")
        finally:
            code, err = stop(worker)
        assert code == 0, err
    assert len(github.state.comments["acme/portal#34"]) == 1  # accepted once, found by its marker, not re-posted
    assert len(github.state.comments["acme/portal#35"]) == 1
    assert len(jira.state.comments["PROJ-12"]) == 1
    assert github.state.posts == 2 and jira.state.posts == 1
    assert rows["github:acme/portal#34"].external_id == str(github.state.comments["acme/portal#34"][0]["id"])
    assert "GET /repos/acme/portal/issues/34/comments" in github.state.requests  # the marker was looked for
    assert "ghp_e2e" not in err and "atl-e2e" not in err  # secrets are never logged
    rt.engine.dispose()


SUGGESTION = "Did you mean `value:transparency`?"


def _outbox_settled(base: str, token: str, timeout: float = 60) -> list[dict[str, Any]]:
    """GET /api/v1/outbox until both replies the delivery causes have reached a final status."""
    deadline, items = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        response = requests.get(f"{base}/api/v1/outbox", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if len(items) >= 2 and all(i["status"] in ("sent", "recorded", "skipped", "dead") for i in items):
            return items
        time.sleep(0.2)
    raise AssertionError(f"the outbox did not settle within {timeout}s: {items}")


@pytest.mark.parametrize("mode", ["send", "record", "unconfigured"])
def test_serve_answers_an_unknown_label_from_a_signed_webhook(tmp_path: Path, mode: str) -> None:
    """A user's path: `pvm serve`, a signed GitHub `issues` `opened` delivery carrying `value:transparancy`, and the
    reply on the issue, exactly once (send), recorded only (PVM_OUTBOUND=record), or skipped naming the setting."""
    with LocalTracker() as github:
        settings = {"PVM_GITHUB_WEBHOOK_SECRET": "whsec-e2e", "PVM_GITHUB_API_URL": github.url}
        if mode != "unconfigured":
            settings["PVM_GITHUB_TOKEN"] = "ghp_serve_e2e"
        if mode == "record":
            settings["PVM_OUTBOUND"] = "record"
        env = process_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'pvm.sqlite3'}", **settings)
        base = f"http://127.0.0.1:{free_port()}"
        server = start(["pvm", "serve", "--port", base.rsplit(":", 1)[1]], env)
        try:
            wait_healthy(f"{base}/healthz", server)
            created = run(["pvm", "token", "create", "--role", "auditor", "--name", "e2e"], env)
            assert created.returncode == 0, created.stderr
            body = (FIXTURES / "github" / "issues__opened.json").read_bytes()
            delivered = requests.post(
                f"{base}/webhooks/github",
                data=body,
                headers={
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": signature(body, "whsec-e2e"),
                    "Content-Type": "application/json",
                },
                timeout=10,
            )
            assert delivered.status_code == 202, delivered.text
            items = _outbox_settled(base, created.stdout.strip())
        finally:
            code, err = stop(server)
        assert code == 0, err

    ticket = "github:city-council/permits#35"
    (reply,) = [i for i in items if SUGGESTION in i["body"]["text"]]
    assert reply["target"] == ticket and reply["action"] == "comment"
    assert reply["body"]["text"].startswith("`value:transparancy` does not name a value dimension I know.")
    assert f"<!-- pvm-outbox:{reply['id']}:" in reply["body"]["text"]
    posted = github.state.comments.get("city-council/permits#35", [])
    if mode == "send":
        assert {i["status"] for i in items} == {"sent"}
        (answer,) = [c for c in posted if SUGGESTION in c["body"]]  # exactly one reply reached GitHub
        assert answer["body"] == reply["body"]["text"]  # the API shows the body as sent, marker included
        assert reply["external_id"] == str(answer["id"])
        assert github.state.posts == len(items)  # every reply posted once, none twice
    elif mode == "record":
        assert {i["status"] for i in items} == {"recorded"} and github.state.requests == []
    else:
        assert {i["status"] for i in items} == {"skipped"} and github.state.requests == []
        assert all("PVM_GITHUB_TOKEN" in (i["error"] or "") for i in items)
    if mode != "send":
        assert posted == []
    assert "ghp_serve_e2e" not in err and "whsec-e2e" not in err  # secrets are never logged
    # The start-up lines name every installed integration's endpoint, the GitLab plugin's too.
    assert "webhooks/github  (secret from PVM_GITHUB_WEBHOOK_SECRET, set)" in err
    assert "webhooks/gitlab  (secret from PVM_GITLAB_WEBHOOK_SECRET, NOT set" in err
