"""`pvm outbox retry ID`: dead items back to pending; wrong ids and states explained."""

from __future__ import annotations

from pathlib import Path

from service.outbox import enqueue
from service.runtime import runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.helpers import run_cli


def test_retry_dead_item_and_refuse_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        dead = enqueue(session, tracker="github", action="comment", target="github:acme/portal#1", body={"text": "hi"})
        dead.status, dead.attempts, dead.error = "dead", 8, "gave up after 8 tries: github: HTTP 502"
        sent = enqueue(session, tracker="github", action="comment", target="github:acme/portal#2", body={"text": "x"})
        sent.status = "sent"
        ids = dead.id, sent.id
    result = run_cli(["outbox", "retry", str(ids[0])], url, tmp_path)
    assert result.exit_code == 0, result.output
    assert f"outbox item {ids[0]} (comment on github:acme/portal#1) is pending again" in result.stderr
    with runtime(app).transaction() as session:
        row = session.get(OutboxItem, ids[0])
        assert row is not None and row.status == "pending" and row.attempts == 0
    listed = run_cli(["outbox", "list", "--status", "pending"], url, tmp_path)
    assert listed.stdout.startswith(f"{ids[0]}\tpending\t0\tgithub\tcomment")
    refused = run_cli(["outbox", "retry", str(ids[1])], url, tmp_path)
    assert refused.exit_code == 1 and "is sent" in refused.stderr
    missing = run_cli(["outbox", "retry", "404"], url, tmp_path)
    assert missing.exit_code == 1 and "no outbox item 404" in missing.stderr
    unknown = run_cli(["outbox", "list", "--status", "lost"], url, tmp_path)
    assert unknown.exit_code == 2 and "'lost' is not one of" in unknown.stderr and "'dead'" in unknown.stderr
