"""Two dispatchers on one database: every row is sent exactly once, on SQLite (threads) and PostgreSQL (processes)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import Runtime
from service.storage.engine import make_engine, make_session_factory
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.service.outbox.local_trackers import LocalTracker

ROWS = 3


def _runtime(database_url: str, instance_dir: str, api_url: str) -> Runtime:
    settings = make_settings(Path(instance_dir), database_url, github_token="ghp_x", github_api_url=api_url)
    engine = make_engine(settings)
    return Runtime(settings, engine, make_session_factory(engine))


def _drain(database_url: str, instance_dir: str, api_url: str, start: Any) -> None:
    rt = _runtime(database_url, instance_dir, api_url)
    dispatcher = Dispatcher(rt)
    start.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dispatcher.dispatch_due()
        with rt.transaction() as session:
            if session.query(OutboxItem).filter(OutboxItem.status != "sent").count() == 0:
                break
        time.sleep(0.05)
    rt.engine.dispose()


def _seed(database_url: str, tmp_path: Path) -> None:
    app = build_app(make_settings(tmp_path, database_url))
    from service.runtime import runtime

    with runtime(app).transaction() as session:
        for n in range(ROWS):
            enqueue(
                session,
                tracker="github",
                action="comment",
                target=f"github:acme/portal#{n + 1}",
                body={"text": f"reply {n}"},
            )
    runtime(app).engine.dispose()


def _check(tracker: LocalTracker, database_url: str, tmp_path: Path) -> None:
    rt = _runtime(database_url, str(tmp_path), tracker.url)
    with rt.transaction() as session:
        assert [r.status for r in session.query(OutboxItem).order_by(OutboxItem.id)] == ["sent"] * ROWS
    rt.engine.dispose()
    assert tracker.state.posts == ROWS
    assert sorted(c["body"].split("\n")[0] for c in tracker.state.all_comments()) == [f"reply {n}" for n in range(ROWS)]


def test_two_threads_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    _seed(url, tmp_path)
    with LocalTracker() as tracker:
        start = threading.Barrier(2)
        threads = [threading.Thread(target=_drain, args=(url, str(tmp_path), tracker.url, start)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        _check(tracker, url, tmp_path)


@pytest.mark.postgres
def test_two_processes_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    _seed(postgres_url, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with LocalTracker() as tracker:
        start = ctx.Barrier(2)
        processes = [
            ctx.Process(target=_drain, args=(postgres_url, str(tmp_path), tracker.url, start)) for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=90)
            assert process.exitcode == 0
        _check(tracker, postgres_url, tmp_path)
