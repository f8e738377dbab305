"""A worker killed with `kill -9` mid-backlog loses nothing and applies nothing twice: its claims are taken over
when their lease (PVM_WORKER_LEASE) runs out, its open transaction never happened. The small version of
`python -m bench.crash`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from service import inbox
from service.runtime import Runtime, runtime
from service.storage.models import Delivery, ValueLogEntry
from tests import deliveries
from tests.conftest import build_app, make_settings
from tests.processes import OUTSIDE, process_env, run
from tests.service.inbox import burst

TICKETS = range(1, 5)  # 20 deliveries
DEADLINE = 90.0


def _statuses(rt: Runtime) -> Counter[str]:
    with rt.transaction() as session:
        return Counter(dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("a") as stderr:  # a file, not a pipe: a pipe nobody reads would block a busy worker
        return subprocess.Popen(
            ["pvm", "worker"], env=env, stderr=stderr, text=True, start_new_session=True, cwd=OUTSIDE
        )


def test_a_worker_killed_mid_backlog_loses_nothing_and_applies_nothing_twice(tmp_path: Path, database_url: str) -> None:
    app = build_app(make_settings(tmp_path, database_url))
    rt = runtime(app)
    client = app.test_client()
    for _, payload in burst.interleaved(TICKETS):
        assert deliveries.github(client, "issues", payload).status_code == 202
    # A worker that died holding claims (the state kill -9 leaves): five rows leased, never finished.
    held = inbox.claim(rt, limit=5, lease=timedelta(seconds=1))
    assert held
    env = process_env(
        tmp_path, DATABASE_URL=database_url, PVM_ENV="test", PVM_WORKER_LEASE="10", PVM_TRACKER_TIMEOUT="3"
    )
    log = tmp_path / "worker.log"
    first = _worker(env, log)
    try:
        deadline = time.monotonic() + DEADLINE
        while _statuses(rt)["processed"] < 3 and time.monotonic() < deadline:
            assert first.poll() is None, log.read_text()[-2000:]
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)  # mid-backlog, whatever it holds
        first.wait(timeout=10)
        second = _worker(env, log)
        try:
            while set(_statuses(rt)) - {"processed"} and time.monotonic() < deadline:
                assert second.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert _statuses(rt) == Counter({"processed": 5 * len(TICKETS)}), log.read_text()[-3000:]
    with rt.transaction() as session:
        held_again = session.scalars(select(Delivery.attempts).where(Delivery.id.in_([c.id for c in held]))).all()
        assert all(attempts >= 2 for attempts in held_again)  # taken over after the lease, not lost
        for number in TICKETS:
            kinds = session.scalars(
                select(ValueLogEntry.kind)
                .where(ValueLogEntry.subject == burst.key(number), ValueLogEntry.kind != "rule.fired")
                .order_by(ValueLogEntry.seq)
            ).all()
            assert kinds == burst.EXPECTED_KINDS, number  # each change once, in order: none lost, none twice
    verified = run(["pvm", "log", "verify"], env)
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout + verified.stderr
    rt.engine.dispose()
