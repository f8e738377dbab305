"""The clock's daily checkpoint: signed once a day, and sent out of the database to a file, a webhook and a tracker
issue; a log that no longer extends the last checkpoint is not signed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service import valuelog
from service.clock import daily_checkpoint
from service.runtime import runtime
from service.storage.models import OutboxItem, ValueLogCheckpoint
from service.valuelog.checkpoint import SignedCheckpoint, issue
from service.valuelog.keys import verifier
from tests.conftest import build_app, make_settings
from tests.helpers import as_attacker
from tests.local_http import Endpoint, serving

ISSUE = "github:city/value-audit#1"


def _append(app, count: int) -> None:
    with runtime(app).transaction() as session:
        for n in range(count):
            valuelog.append(session, kind="ticket.created", subject=f"jira:BEN-{n}", actor="jira:a", source="jira")


def test_the_daily_checkpoint_is_signed_once_and_sent_out(tmp_path: Path) -> None:
    held = tmp_path / "elsewhere" / "value-log.note"
    held.parent.mkdir()
    with serving(Endpoint()) as receiver:
        app = build_app(
            make_settings(
                tmp_path / "instance",
                checkpoint_file=held,
                checkpoint_issue=ISSUE,
                checkpoint_webhook_url=receiver.url("/checkpoints"),
                allowed_private_hosts=("127.0.0.1",),
            )
        )
        rt = runtime(app)
        _append(app, 6)
        daily_checkpoint(rt)
        _append(app, 2)
        daily_checkpoint(rt)  # the same day: nothing more is signed or sent

    point = SignedCheckpoint.parse(held.read_text(), verifier(rt.settings))
    assert (point.origin, point.size) == ("pvm.test/value-log", 6)
    assert (rt.settings.instance_dir / "checkpoints" / "value-log-6.note").read_text() == point.note
    (posted,) = receiver.requests
    assert (posted.method, posted.path, posted.body) == ("POST", "/checkpoints", point.note.encode())
    assert posted.headers["content-type"] == "text/plain; charset=utf-8"
    with rt.transaction() as session:
        assert session.scalars(select(ValueLogCheckpoint.size)).all() == [6]
        (comment,) = session.scalars(select(OutboxItem)).all()
        assert (comment.tracker, comment.action, comment.target) == ("github", "comment", ISSUE)
        assert point.note in comment.body["text"]
    rt.engine.dispose()


def test_a_log_that_no_longer_extends_the_last_checkpoint_is_not_signed(app, caplog) -> None:
    rt = runtime(app)
    _append(app, 4)
    with rt.transaction() as session:
        issue(session, rt.settings)
    as_attacker(rt.engine, "DELETE FROM value_log WHERE seq >= 3")
    _append(app, 3)  # the log goes on from seq 3, as if the old seq 3 and 4 had never been
    daily_checkpoint(rt)
    assert "no checkpoint signed today: seq 4 differs from the entry the last signed checkpoint committed to" in (
        caplog.text
    )
    with rt.transaction() as session:
        assert session.scalars(select(ValueLogCheckpoint.size)).all() == [4]
    # The key is forgotten, so tomorrow's run (or a re-run today, once the log is repaired) tries again.
    daily_checkpoint(rt)
    assert caplog.text.count("no checkpoint signed today") == 2
