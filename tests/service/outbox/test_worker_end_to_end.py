"""`pvm worker` as a real process against local GitHub and Jira stand-ins, including a comment answered too late."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from service.outbox import enqueue
from service.runtime import Runtime, runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.processes import process_env, start, stop
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
