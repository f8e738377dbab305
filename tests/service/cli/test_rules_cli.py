"""`pvm rules check` and `pvm rules test` as a product owner runs them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from integrations import registry
from integrations.base import Identity, Integration, WebhookError
from rules.loader import BUILTIN_DIR
from service.domain.events import Event, Ignored
from service.runtime import runtime
from service.storage.models import CheckinRound, OutboxItem, ValueLogEntry
from tests.conftest import FIXTURES, build_app, make_settings
from tests.helpers import run_cli
from tests.service import scenario as s

EVENTS = FIXTURES / "events"
DEFAULT_HASH = hashlib.sha256((BUILTIN_DIR / "default.yaml").read_bytes()).hexdigest()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pvm.sqlite3'}"


def test_check_lists_each_pack_with_hash_and_rule_count(tmp_path: Path, db_url: str) -> None:
    result = run_cli(["rules", "check"], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert f"default.yaml\tsha256 {DEFAULT_HASH}\t12 rule(s)" in result.stdout
    assert "OK 1 pack(s), 12 rule(s) in effect" in result.stdout
    assert not (tmp_path / "pvm.sqlite3").exists()  # offline: no database needed or made


def test_check_a_project_folder(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "ours.yaml").write_text("rules:\n  - id: divergence-alert\n    enabled: false\n")
    result = run_cli(["rules", "check", str(folder)], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "ours.yaml\tsha256 " in result.stdout and "\t1 rule(s)" in result.stdout
    assert "OK 2 pack(s), 11 rule(s) in effect" in result.stdout


def test_check_reports_the_error_and_exits_1(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "ours.yaml").write_text(
        "rules:\n  - id: shout\n    on: label.added\n    then: [{comment: {text: hi, target: everyone}}]\n"
    )
    result = run_cli(["rules", "check", str(folder)], db_url, tmp_path)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("pvm: ours.yaml: rule 'shout': rules[0].then[0].comment.target: unknown target 'everyone'")
    assert "valid choices: subject, epic, hypothesis_epic, iteration_epics" in line


def test_check_uses_pvm_rules_dir(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "ours.yaml").write_text("rules:\n  - id: x\n    on: label.nothing\n    then: [{comment: {text: hi}}]\n")
    result = run_cli(["rules", "check"], db_url, tmp_path, PVM_RULES_DIR=str(folder))
    assert result.exit_code == 1 and "ours.yaml: rule 'x': rules[0].on: 'label.nothing' matches no event kind" in (
        result.stderr
    )


def test_the_service_does_not_start_with_a_bad_pack(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "ours.yaml").write_text("rules:\n  - id: x\n    on: label.added\n    then: [{shout: {}}]\n")
    result = run_cli(["db", "upgrade"], db_url, tmp_path, PVM_RULES_DIR=str(folder))
    assert result.exit_code == 2
    assert "rule pack invalid" in result.stderr and "ours.yaml: rule 'x': rules[0].then[0]: unknown action 'shout'" in (
        result.stderr
    )


def _seed(tmp_path: Path, db_url: str) -> None:
    app = build_app(make_settings(tmp_path, db_url))
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2", "Online appeals")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-21", "jira:PORT-2")
        s.hypothesis(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/37", 1, name="Sprint 37")
        s.join(session, "jira:PORT-11", "jira:sprint/37")
        s.join(session, "jira:PORT-21", "jira:sprint/37")
    runtime(app).engine.dispose()


def _counts(tmp_path: Path, db_url: str) -> tuple[int, int, int]:
    app = build_app(make_settings(tmp_path, db_url))
    with runtime(app).transaction() as session:
        counts = tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (OutboxItem, CheckinRound, ValueLogEntry)
        )
    runtime(app).engine.dispose()
    return counts  # type: ignore[return-value]


def test_rules_test_shows_what_would_happen_and_changes_nothing(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(tmp_path, db_url)
    caplog.set_level(logging.INFO, logger="service.reactions")
    result = run_cli(["rules", "test", str(EVENTS / "iteration.started__sprint_37.json")], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "event iteration.started jira:sprint/37" in out
    assert f"rule ex-ante-nudge-at-start (default.yaml sha256 {DEFAULT_HASH[:12]}): would fire" in out
    assert "    alert " in out and "ex-ante-nudge" in out
    assert "      on jira:PORT-2:\n        | Sprint 37 has started with work on this epic" in out
    assert "rule iteration-checkin-round (default.yaml" in out and '"kind": "iteration", "opened": [1]' in out
    assert "2 rule(s) would fire; nothing was changed or sent" in out
    assert "fired on iteration.started jira:sprint/37 (pvm rules test, rolled back)" in caplog.text
    assert _counts(tmp_path, db_url) == (0, 0, 0)


def test_rules_test_a_sequence_shows_rules_that_do_not_fire(tmp_path: Path, db_url: str) -> None:
    _seed(tmp_path, db_url)
    result = run_cli(["rules", "test", str(EVENTS / "sequence__risk_then_close.json")], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "rule value-risk-mitigation (default.yaml" in out and "on jira:PORT-11:" in out
    assert "event ticket.closed jira:PORT-1" in out
    assert "rule ex-post-round (default.yaml" in out and '"kind": "ex-post"' in out
    assert "2 rule(s) would fire" in out
    assert _counts(tmp_path, db_url) == (0, 0, 0)


def test_rules_test_unknown_label(tmp_path: Path, db_url: str) -> None:
    _seed(tmp_path, db_url)
    result = run_cli(["rules", "test", str(EVENTS / "label.unknown__transparancy.json")], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "Did you mean `value:transparency`?" in result.stdout
    assert "on github:sbansal1999/testing-gh#9:\n        | `value:transparancy` does not name" in result.stdout


def test_rules_test_an_event_no_rule_wants(tmp_path: Path, db_url: str) -> None:
    _seed(tmp_path, db_url)
    event = tmp_path / "event.json"
    event.write_text(
        '{"kind": "ticket.updated", "source": "jira", "subject": "jira:PORT-11", "actor": "a", "data": {}}'
    )
    result = run_cli(["rules", "test", str(event)], db_url, tmp_path)
    assert result.exit_code == 0
    assert "no rule reacts to this kind" in result.stdout and "0 rule(s) would fire" in result.stdout


def test_rules_test_a_raw_payload_needs_source(tmp_path: Path, db_url: str) -> None:
    _seed(tmp_path, db_url)
    raw = FIXTURES / "github" / "zulip" / "issues__labeled.json"
    result = run_cli(["rules", "test", str(raw)], db_url, tmp_path)
    assert result.exit_code == 2
    assert "is not a domain event" in result.stderr and "--source github|jira" in result.stderr


def test_rules_test_rejects_a_file_that_is_not_json(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("kind: label.added")
    result = run_cli(["rules", "test", str(bad)], db_url, tmp_path)
    assert result.exit_code == 2 and "event.json: not JSON (Expecting value: line 1 column 1" in result.stderr


def _stand_in_github() -> Integration:
    """A stand-in with the real integration's shape, to drive the raw-payload path of `rules test`."""

    def identify(headers: Mapping[str, str], body: Mapping[str, Any]) -> Identity:
        if "x-github-event" not in headers:
            raise WebhookError(400, "X-GitHub-Event header missing")
        return Identity(event=headers["x-github-event"], delivery_id=None, action=body.get("action"))

    def normalise(identity: Identity, body: Mapping[str, Any]) -> list[Event] | Ignored:
        if (identity.event, identity.action) != ("issues", "labeled"):
            return Ignored(f"{identity.event}.{identity.action} is not about value")
        subject = f"github:{body['repository']['full_name']}#{body['issue']['number']}"
        return [
            Event(
                "label.added",
                "github",
                subject,
                f"github:{body['sender']['login']}",
                None,
                {"label": "value:transparancy"},
            )
        ]

    return Integration("github", "PVM_GITHUB_WEBHOOK_SECRET", lambda _: None, lambda *_: True, identify, normalise)


def test_rules_test_normalises_a_raw_payload_through_the_integration(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(tmp_path, db_url)
    monkeypatch.setattr(registry, "all_integrations", lambda: {"github": _stand_in_github()})
    labeled = FIXTURES / "github" / "zulip" / "issues__labeled.json"
    result = run_cli(["rules", "test", str(labeled), "--source", "github", "--event", "issues"], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "event label.unknown github:sbansal1999/testing-gh#9" in result.stdout
    assert "rule unknown-value-label (default.yaml" in result.stdout
    missing_event = run_cli(["rules", "test", str(labeled), "--source", "github"], db_url, tmp_path)
    assert missing_event.exit_code == 2 and "X-GitHub-Event header missing; pass --event NAME" in missing_event.stderr
    closed = FIXTURES / "github" / "zulip" / "issues__closed.json"
    ignored = run_cli(["rules", "test", str(closed), "--source", "github", "--event", "issues"], db_url, tmp_path)
    assert ignored.exit_code == 0
    assert "the github integration ignores this payload: issues.closed is not about value" in ignored.stdout
    assert _counts(tmp_path, db_url) == (0, 0, 0)


def test_rules_test_names_a_missing_integration(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "all_integrations", dict)
    labeled = FIXTURES / "github" / "zulip" / "issues__labeled.json"
    result = run_cli(["rules", "test", str(labeled), "--source", "jira"], db_url, tmp_path)
    assert result.exit_code == 2 and "no integration called 'jira'" in result.stderr
