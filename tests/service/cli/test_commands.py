"""`pvm` as a user runs it: a real process, from a working directory outside the checkout."""

import signal

import pytest

from tests.processes import free_port, process_env, run, start, stop, wait_healthy


def test_token_create_prints_only_the_token(tmp_path) -> None:
    env = process_env(tmp_path)
    assert run(["pvm", "db", "upgrade"], env).returncode == 0
    created = run(["pvm", "token", "create", "--role", "auditor", "--name", "audit-office"], env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.count("\n") == 1 and created.stdout.startswith("pvm_")
    assert "store it now" in created.stderr
    again = run(["pvm", "token", "create", "--role", "auditor", "--name", "audit-office"], env)
    assert again.returncode == 1 and "exists already" in again.stderr
    bad_role = run(["pvm", "token", "create", "--role", "boss", "--name", "x"], env)
    assert bad_role.returncode == 2 and "boss" in bad_role.stderr
    assert run(["pvm", "token", "revoke", "audit-office"], env).returncode == 0
    listed = run(["pvm", "token", "list"], env)
    assert "audit-office\tauditor\trevoked" in listed.stdout
    assert "pvm_" not in listed.stdout


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/pvm"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere"}, "DATABASE_URL"),
        ({"PVM_ENV": "production"}, "PVM_SECRET_KEY"),
        ({"PVM_INSTANCE_DIR": "/proc/pvm-cannot-write-here"}, "PVM_INSTANCE_DIR"),
    ],
)
def test_bad_configuration_exits_with_one_line(tmp_path, extra, named) -> None:
    result = run(["pvm", "db", "upgrade"], process_env(tmp_path, **extra))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_commands_refuse_a_database_that_is_not_upgraded(tmp_path) -> None:
    result = run(["pvm", "log", "verify"], process_env(tmp_path))
    assert result.returncode == 2 and "pvm db upgrade" in result.stderr
    assert str(tmp_path / "pvm.sqlite3") in result.stderr and not (tmp_path / "pvm.sqlite3").exists()


def test_unsigned_webhooks_are_announced_as_accepted_not_503(tmp_path) -> None:
    port = free_port()
    process = start(["pvm", "serve", "--port", str(port)], process_env(tmp_path, PVM_ALLOW_UNSIGNED_WEBHOOKS="1"))
    wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    _, err = stop(process, signal.SIGINT)
    github = next(line for line in err.splitlines() if "/webhooks/github" in line)
    assert "UNSIGNED" in github and "503" not in github


def test_serve_on_embedded_default_then_ctrl_c(tmp_path) -> None:
    port = free_port()
    process = start(["pvm", "serve", "--port", str(port)], process_env(tmp_path))
    health = wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    assert health.json()["status"] == "ok"
    code, err = stop(process, signal.SIGINT)
    assert code == 0
    assert f"http://127.0.0.1:{port}/webhooks/github" in err
    assert "PVM_GITHUB_WEBHOOK_SECRET" in err
    assert f"instance folder: {tmp_path.resolve()}" in err  # where to point PVM_INSTANCE_DIR from another shell
    assert (tmp_path / "pvm.sqlite3").exists()
