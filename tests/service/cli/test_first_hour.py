"""A newcomer's first hour: one database wherever a command runs, errors that say where to look, `--json` for
scripts, progress on standard error, and a start banner that tells the truth about each webhook endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from integrations import registry
from service import valuelog
from service.cli import cli
from service.cli import log as log_cli
from service.cli.run import webhook_state
from service.outbox import enqueue
from service.runtime import runtime
from service.valuelog import verify
from tests.conftest import build_app, make_settings


def run_cli(args: list[str], database_url: str, instance_dir: Path) -> Result:
    return _run(args, DATABASE_URL=database_url, PVM_INSTANCE_DIR=str(instance_dir))


def _run(args: list[str], **env: str | None) -> Result:
    """`pvm` with only the variables given: no DATABASE_URL, no PVM_INSTANCE_DIR unless a test sets them."""
    environment: dict[str, str | None] = {"DATABASE_URL": None, "PVM_INSTANCE_DIR": None, "PVM_ENV": "test", **env}
    return CliRunner().invoke(cli, args, env=environment, catch_exceptions=False)


@pytest.mark.parametrize(
    "args",
    [
        ["token", "list"],
        ["token", "create", "--role", "auditor", "--name", "x"],
        ["log", "verify"],
        ["log", "export"],
        ["outbox", "list"],
        ["summary", "jira:sprint/1"],
        ["stakeholder", "list"],
    ],
)
def test_a_command_on_a_missing_database_says_which_it_looked_for_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = _run(args, PVM_INSTANCE_DIR=str(elsewhere))
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message
    assert str(elsewhere / "pvm.sqlite3") in message
    assert "PVM_INSTANCE_DIR" in message and "DATABASE_URL" in message and "pvm serve" in message
    assert not elsewhere.exists()


def test_a_missing_database_named_by_database_url_is_not_created(tmp_path: Path) -> None:
    database = tmp_path / "typo.sqlite3"
    result = run_cli(["token", "list"], f"sqlite:///{database}", tmp_path / "instance")
    assert result.exit_code == 2 and str(database) in result.stderr
    assert not database.exists() and not (tmp_path / "instance").exists()


def test_every_folder_shares_the_per_user_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_home = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    before = _run(["token", "list"], XDG_DATA_HOME=str(data_home))
    assert before.exit_code == 2 and str(data_home / "pvm" / "pvm.sqlite3") in before.stderr
    assert not data_home.exists() and not (tmp_path / "instance").exists()

    assert _run(["db", "upgrade"], XDG_DATA_HOME=str(data_home)).exit_code == 0
    created = _run(["token", "create", "--role", "auditor", "--name", "audit"], XDG_DATA_HOME=str(data_home))
    assert created.exit_code == 0, created.output
    other = tmp_path / "some" / "project"
    other.mkdir(parents=True)
    monkeypatch.chdir(other)
    listed = _run(["token", "list"], XDG_DATA_HOME=str(data_home))
    assert listed.exit_code == 0 and listed.stdout.startswith("audit\tauditor\tactive")
    assert not (other / "instance").exists() and not (tmp_path / "instance").exists()


def test_commands_that_need_no_database_open_none(tmp_path: Path) -> None:
    result = _run(["log", "key"], PVM_INSTANCE_DIR=str(tmp_path / "instance"))
    assert result.exit_code == 0 and result.stdout.strip()
    assert not (tmp_path / "instance" / "pvm.sqlite3").exists()


def test_an_empty_database_names_itself(tmp_path: Path) -> None:
    database = tmp_path / "empty.sqlite3"
    database.touch()
    result = run_cli(["token", "list"], f"sqlite:///{database}", tmp_path)
    assert result.exit_code == 2 and str(database) in result.stderr and "pvm db upgrade" in result.stderr


def test_token_create_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    build_app(make_settings(tmp_path, url))
    args = [
        "token",
        "create",
        "--role",
        "auditor",
        "--name",
        "grafana",
        "--scope",
        "jira:PRM",
        "--expires",
        "90d",
    ]
    result = run_cli([*args, "--json"], url, tmp_path)
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert list(created) == ["name", "role", "scope", "expires_at", "token"]
    assert created["name"] == "grafana" and created["role"] == "auditor" and created["scope"] == ["jira:PRM"]
    assert created["expires_at"].startswith("20") and created["token"].startswith("pvm_")
    everywhere = run_cli(["token", "create", "--role", "auditor", "--name", "all", "--json"], url, tmp_path)
    assert json.loads(everywhere.stdout)["scope"] == [] and json.loads(everywhere.stdout)["expires_at"] is None


def _log_of(tmp_path: Path, entries: int) -> str:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        for i in range(entries):
            valuelog.append(
                session, kind="hypothesis.created", subject=f"jira:PRM-{i}", data={}, actor="jira:a", source="jira"
            )
    return url


def test_log_verify_json_and_progress_on_standard_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _log_of(tmp_path, 7)
    monkeypatch.setattr(verify, "BATCH", 3)
    result = run_cli(["log", "verify", "--json"], url, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # progress never mixes into the data
    assert report["ok"] is True and report["entries"] == 7 and report["bad_seq"] is None
    assert report["lines"][0] == f"OK 7 entries, head {report['head']}"
    assert set(report) == {"ok", "entries", "head", "bad_seq", "reason", "problems", "notes", "lines"}
    assert "... 6 entries verified" in result.stderr


def test_log_export_reports_progress_on_standard_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _log_of(tmp_path, 5)
    monkeypatch.setattr(log_cli, "BATCH", 2)
    jsonl = run_cli(["log", "export"], url, tmp_path)
    assert len(jsonl.stdout.splitlines()) == 5 and all(json.loads(line) for line in jsonl.stdout.splitlines())
    assert "... 2 entries exported" in jsonl.stderr and "... 4 entries exported" in jsonl.stderr
    assert jsonl.stderr.strip().endswith("5 entries exported")
    csv = run_cli(["log", "export", "--format", "csv"], url, tmp_path)
    assert len(csv.stdout.splitlines()) == 6 and csv.stderr.strip().endswith("5 entries exported")


def test_outbox_list_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        first = enqueue(session, tracker="github", action="comment", target="github:acme/portal#1", body={"text": "a"})
        first.status, first.error = "dead", "HTTP 502"
        enqueue(session, tracker="jira", action="comment", target="jira:PRM-2", body={"text": "b"})
    result = run_cli(["outbox", "list", "--json"], url, tmp_path)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [item["target"] for item in items] == ["github:acme/portal#1", "jira:PRM-2"]
    assert items[0] == {
        "id": items[0]["id"],
        "status": "dead",
        "attempts": 0,
        "tracker": "github",
        "action": "comment",
        "target": "github:acme/portal#1",
        "error": "HTTP 502",
    }
    assert json.loads(run_cli(["outbox", "list", "--json", "--status", "sent"], url, tmp_path).stdout) == []


def test_the_banner_tells_what_each_webhook_endpoint_answers(tmp_path: Path) -> None:
    github = registry.get("github")
    unset = make_settings(tmp_path, github_webhook_secret=None)
    assert "answers 503" in webhook_state(unset, github)
    unsigned = unset.with_overrides(allow_unsigned_webhooks=True)
    assert "503" not in webhook_state(unsigned, github) and "UNSIGNED" in webhook_state(unsigned, github)
    assert webhook_state(make_settings(tmp_path), github) == "secret from PVM_GITHUB_WEBHOOK_SECRET, set"
    off = make_settings(tmp_path, trackers=("jira",))
    assert "add github there to switch it on" in webhook_state(off, github)
    assert "PVM_TRACKERS" not in webhook_state(off, registry.get("jira"))
