"""`pvm token create --scope ... --expires ...` and `pvm token list` as a user runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.processes import process_env, run


def test_token_create_with_scope_and_expiry_then_list(tmp_path) -> None:
    env = process_env(tmp_path)
    assert run(["pvm", "db", "upgrade"], env).returncode == 0
    created = run(
        [
            "pvm", "token", "create", "--role", "team", "--name", "portal-team",
            "--scope", "github:acme/portal", "--scope", "jira:PRM", "--expires", "2030-03-31",
        ],
        env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("pvm_") and created.stdout.count("\n") == 1
    assert "github:acme/portal, jira:PRM, expires 2030-04-01 00:00 UTC" in created.stderr
    days = run(["pvm", "token", "create", "--role", "auditor", "--name", "audit", "--expires", "90d"], env)
    assert days.returncode == 0, days.stderr
    listed = run(["pvm", "token", "list"], env).stdout.splitlines()
    until = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert "portal-team\tteam\tactive\tgithub:acme/portal,jira:PRM\texpires 2030-04-01 00:00\tnever used" in listed
    assert any(line.startswith(f"audit\tauditor\tactive\tall projects\texpires {until}") for line in listed), listed


def test_token_create_refuses_a_bad_scope_or_expiry_with_one_line(tmp_path) -> None:
    env = process_env(tmp_path)
    assert run(["pvm", "db", "upgrade"], env).returncode == 0
    for option, value, says in (
        ("--scope", "acme/portal", "github:owner/repo"),
        ("--expires", "2020-01-01", "in the past"),
        ("--expires", "soon", "90d"),
    ):
        result = run(["pvm", "token", "create", "--role", "team", "--name", "x", option, value], env)
        assert result.returncode == 1 and says in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert run(["pvm", "token", "list"], env).stdout == ""
