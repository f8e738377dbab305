"""`pvm stakeholder add|list|assign|unassign|erase` through the CLI, with one-line errors."""

from __future__ import annotations

from pathlib import Path

from service.runtime import runtime
from service.storage.models import Hypothesis
from tests.conftest import build_app, make_settings
from tests.epics import add_epic
from tests.helpers import run_cli


def test_a_product_owners_day_with_stakeholders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    app = build_app(make_settings(tmp_path, url))
    with runtime(app).transaction() as session:
        add_epic(session, "jira:PRM-12")
        session.add(Hypothesis(epic_key="jira:PRM-12", statement="We believe ...", dimensions=["transparency"]))

    added = run_cli(["stakeholder", "add", "--name", "Ana", "--group", "citizen", "--scope", "jira:PRM"], url, tmp_path)
    assert added.exit_code == 0 and added.stdout.strip() == "1"
    hook = run_cli(
        ["stakeholder", "add", "--name", "Panel", "--group", "user", "--webhook-url", "https://93.184.216.34/h"],
        url,
        tmp_path,
    )
    assert hook.exit_code == 0
    stakeholder_id, secret = hook.stdout.split()
    assert stakeholder_id == "2" and secret.startswith("whsec_") and "shown once" in hook.stderr

    typo = run_cli(["stakeholder", "add", "--name", "Ben", "--group", "citzen"], url, tmp_path)
    assert typo.exit_code == 2 and "did you mean 'citizen'?" in typo.stderr and typo.stderr.count("\n") == 1
    private = run_cli(
        ["stakeholder", "add", "--name", "Ben", "--group", "user", "--webhook-url", "http://10.1.1.1/"], url, tmp_path
    )
    assert private.exit_code == 2 and "webhook_url: " in private.stderr and "private address" in private.stderr

    listed = run_cli(["stakeholder", "list"], url, tmp_path)
    assert listed.stdout.splitlines() == [
        "1\tcitizen\tAna\tlink\tjira:PRM",
        "2\tuser\tPanel\twebhook_url\tall projects",
    ]

    assert run_cli(["stakeholder", "assign", "1", "--hypothesis", "1"], url, tmp_path).exit_code == 0
    unknown = run_cli(["stakeholder", "assign", "1", "--hypothesis", "99"], url, tmp_path)
    assert unknown.exit_code == 2 and "no hypothesis 99" in unknown.stderr
    assert run_cli(["stakeholder", "unassign", "1", "--hypothesis", "1"], url, tmp_path).exit_code == 0
    assert run_cli(["stakeholder", "unassign", "1", "--hypothesis", "1"], url, tmp_path).exit_code == 1

    erased = run_cli(["stakeholder", "erase", "1", "--yes"], url, tmp_path)
    assert erased.exit_code == 0 and "erased" in erased.stdout
    assert "Ana" not in run_cli(["stakeholder", "list"], url, tmp_path).stdout
    assert run_cli(["log", "verify"], url, tmp_path).stdout.startswith("OK ")
