"""Every Procfile role starts as written, on PostgreSQL (the scale-out setup the Procfile is for)."""

import os
import signal
from pathlib import Path

import pytest
import requests

from tests.conftest import GITHUB_SECRET
from tests.deliveries import body_of, fixture, github_headers
from tests.processes import free_port, process_env, run, start, stop, wait_for_line, wait_healthy

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def _roles() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in PROCFILE.read_text().splitlines() if line.strip())


def _send_github(port: int, body: bytes) -> requests.Response:
    headers = github_headers("issues", body)
    return requests.post(f"http://127.0.0.1:{port}/webhooks/github", data=body, headers=headers, timeout=30)


def test_procfile_has_every_role() -> None:
    assert set(_roles()) == {"web", "worker", "clock", "release"}


@pytest.mark.postgres
def test_roles_start_as_written(tmp_path, postgres_url) -> None:
    roles = _roles()
    port = free_port()
    env = process_env(
        tmp_path,
        DATABASE_URL=postgres_url,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        PVM_GITHUB_WEBHOOK_SECRET=GITHUB_SECRET,
    )
    release = run(["bash", "-c", roles["release"]], env)
    assert release.returncode == 0, release.stderr
    web = start(f"exec {roles['web']}", env, shell=True)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", web).json()["status"] == "ok"
        stored, refused = _send_github(port, body_of(fixture("github", "issues__labeled"))), _send_github(port, b"{")
        assert (stored.status_code, refused.status_code) == (202, 400)
        if len(os.sched_getaffinity(0)) > 1:  # the web worker runs on one CPU (service.gunicorn_config)
            (worker,) = Path(f"/proc/{web.pid}/task/{web.pid}/children").read_text().split()
            assert len(os.sched_getaffinity(int(worker))) == 1
    finally:
        _, web_log = stop(web, signal.SIGTERM)
    # The web role logs what it did with each delivery, by id, not only gunicorn's own lines.
    delivery = stored.json()["delivery_id"]
    assert f"INFO service.webhooks.views: webhook github delivery {delivery} stored as inbox row" in web_log
    assert f"delivery {refused.request.headers['X-GitHub-Delivery']} refused: the body is refused: not JSON" in web_log
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
