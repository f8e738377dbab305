"""Every Procfile role starts as written, on PostgreSQL (the scale-out setup the Procfile is for)."""

import signal
from pathlib import Path

import pytest

from tests.processes import free_port, process_env, run, start, stop, wait_for_line, wait_healthy

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def _roles() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in PROCFILE.read_text().splitlines() if line.strip())


def test_procfile_has_every_role() -> None:
    assert set(_roles()) == {"web", "worker", "clock", "release"}


@pytest.mark.postgres
def test_roles_start_as_written(tmp_path, postgres_url) -> None:
    roles = _roles()
    port = free_port()
    env = process_env(tmp_path, DATABASE_URL=postgres_url, PORT=str(port), WEB_CONCURRENCY="1")
    release = run(["bash", "-c", roles["release"]], env)
    assert release.returncode == 0, release.stderr
    web = start(f"exec {roles['web']}", env, shell=True)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", web).json()["status"] == "ok"
    finally:
        stop(web, signal.SIGTERM)
    for role, expect in (("worker", "worker started"), ("clock", "clock started")):
        process = start(f"exec {roles[role]}", env, shell=True)
        wait_for_line(process, expect)
        code, err = stop(process, signal.SIGTERM)
        assert code == 0, err


@pytest.mark.postgres
def test_only_one_clock_runs(tmp_path, postgres_url) -> None:
    env = process_env(tmp_path, DATABASE_URL=postgres_url)
    assert run(["pvm", "db", "upgrade"], env).returncode == 0
    first = start(["pvm", "clock"], env)
    wait_for_line(first, "clock started")
    second = run(["pvm", "clock"], env, timeout=30)
    assert second.returncode == 1 and "another clock" in second.stderr
    stop(first, signal.SIGTERM)
