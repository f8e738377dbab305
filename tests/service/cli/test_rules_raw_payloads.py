"""`pvm rules test` on raw tracker payloads (real captured webhooks), normalised by the tracker integrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.runtime import runtime
from service.storage.models import OutboxItem, ValueLogEntry
from tests.conftest import FIXTURES, build_app, make_settings
from tests.helpers import run_cli
from tests.service import scenario as s


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        s.ticket(session, "github:sbansal1999/testing-gh#9")
    runtime(app).engine.dispose()
    return url


def _nothing_written(tmp_path: Path, url: str) -> bool:
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        written = sum(
            int(session.scalar(select(func.count()).select_from(model)) or 0) for model in (OutboxItem, ValueLogEntry)
        )
    runtime(app).engine.dispose()
    return written == 0


def test_github_issue_labeled(tmp_path: Path, db_url: str) -> None:
    fixture = FIXTURES / "github" / "zulip" / "issues__labeled.json"
    result = run_cli(["rules", "test", str(fixture), "--source", "github", "--event", "issues"], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "event label.added github:sbansal1999/testing-gh#9" in result.stdout
    assert '"label": "bug"' in result.stdout
    assert "nothing was changed or sent" in result.stdout
    assert _nothing_written(tmp_path, db_url)


def test_github_unknown_value_label_gets_the_suggestion(tmp_path: Path, db_url: str) -> None:
    payload = json.loads((FIXTURES / "github" / "zulip" / "issues__labeled.json").read_text())
    payload["label"]["name"] = "value:transparancy"
    payload["issue"]["labels"][0]["name"] = "value:transparancy"
    event_file = tmp_path / "issues__labeled_value.json"
    event_file.write_text(json.dumps(payload))
    result = run_cli(["rules", "test", str(event_file), "--source", "github", "--event", "issues"], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "event label.unknown github:sbansal1999/testing-gh#9" in result.stdout
    assert "rule unknown-value-label (default.yaml" in result.stdout
    assert "Did you mean `value:transparency`?" in result.stdout
    assert _nothing_written(tmp_path, db_url)


def test_jira_issue_updated(tmp_path: Path, db_url: str) -> None:
    fixture = FIXTURES / "jira" / "zulip" / "issue_updated__priority.json"
    result = run_cli(["rules", "test", str(fixture), "--source", "jira"], db_url, tmp_path)
    assert result.exit_code == 0, result.output
    assert "jira:TEST-1" in result.stdout
    assert "nothing was changed or sent" in result.stdout
    assert _nothing_written(tmp_path, db_url)


def test_a_payload_the_integration_cannot_read_is_a_one_line_error(tmp_path: Path, db_url: str) -> None:
    fixture = FIXTURES / "jira" / "issue_created__malformed_labels.json"
    result = run_cli(["rules", "test", str(fixture), "--source", "jira"], db_url, tmp_path)
    assert result.exit_code == 2
    assert (
        "the jira integration cannot read this payload: the payload is malformed: "
        "$.issue.fields.labels[0] should be a string" in result.stderr
    )
    assert "Traceback" not in result.output
