"""The auditor's view on a long value log: how long its pages take, how much memory the verify holds, and how long
a writer waits while a reader verifies or downloads the whole log.

    python -m bench.log_view              # 100,000 entries on SQLite (a few minutes)
    python -m bench.log_view --quick      # 20,000 entries
    python -m bench.log_view --postgres   # on a throw-away PostgreSQL database instead

Entries are appended by service/valuelog (the real canonical bytes and hashes), a thousand a transaction, with
kinds, subjects and actors spread as a tracker's would be. Pages are fetched through the app with an auditor's
session. While `/log/verify` and `/log/export.jsonl` run, a writer thread appends one entry every 20 ms as the
worker would, and its longest wait is reported; the same is measured for a verify that keeps one read transaction
(what the API did before), which on SQLite holds the only write lock to the end.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from service import valuelog
from service.app import create_app
from service.config import Settings
from service.runtime import Runtime, runtime
from service.storage import migrate
from service.tokens import create as create_token
from service.valuelog.verify import verify_database

KINDS = ("label.added", "label.removed", "ticket.updated", "hypothesis.updated", "rule.fired", "checkin.answered")
PER_TRANSACTION = 1000
WRITE_EVERY = 0.02


def fill(rt: Runtime, entries: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, entries, PER_TRANSACTION):
        batch = [
            valuelog.Pending(
                kind=KINDS[n % len(KINDS)],
                subject=f"jira:BEN-{n % 500}",
                data={"n": n, "label": "value:transparency", "note": "a realistic few dozen bytes of data"},
                actor=f"jira:user-{n % 40}",
                source="jira",
            )
            for n in range(first, min(first + PER_TRANSACTION, entries))
        ]
        with rt.transaction() as session:
            valuelog.append_many(session, batch, at=start + timedelta(minutes=first // PER_TRANSACTION))


def signed_in(app) -> FlaskClient:
    client = app.test_client()
    with runtime(app).transaction() as session:
        secret = create_token(session, name=f"bench-{uuid.uuid4().hex[:6]}", role="auditor", actor="bench")
    page = client.get("/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf
    assert client.post("/signin", data={"token": secret, "csrf_token": csrf.group(1)}).status_code == 302
    return client


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def longest_writer_wait(rt: Runtime, action: Callable[[], object]) -> tuple[float, float]:
    """(seconds the action took, the longest a concurrent appender waited for one append)."""
    stop, waits = threading.Event(), []

    def write() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            with rt.transaction() as session:
                valuelog.append(session, kind="label.added", subject="jira:BEN-1", actor="bench", source="bench")
            waits.append(time.perf_counter() - began)
            time.sleep(WRITE_EVERY)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        took = timed(action)
    finally:
        stop.set()
        writer.join()
    return took, max(waits, default=0.0)


def run(database_url: str, entries: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pvm-bench-log-"))
    settings = Settings(instance_dir=folder, database_url=database_url, env="test", secret_key="bench")
    app = create_app(settings)
    rt = runtime(app)
    migrate.upgrade(rt.engine)
    began = time.perf_counter()
    fill(rt, entries)
    print(f"{entries} entries appended in {time.perf_counter() - began:.1f} s ({rt.engine.dialect.name})")
    client = signed_in(app)

    for label, path in (
        ("first page", "/log"),
        ("last page", f"/log?before={entries + 10}"),
        ("page in the middle", f"/log?after={entries // 2}"),
        ("one kind", "/log?kind=hypothesis.updated"),
        ("a family of kinds", "/log?kind=checkin.*"),
        ("one subject", "/log?subject=jira:BEN-7"),
        ("one day", "/log?since=2026-01-01T12:00Z&until=2026-01-01T12:30Z"),
        ("an entry", f"/log/{entries // 2}"),
    ):
        began = time.perf_counter()
        status = client.get(path).status_code
        seconds = time.perf_counter() - began
        print(f"  {label:<20} {path:<55} {seconds * 1000:7.0f} ms  ({status})")

    alone = timed(lambda: client.get("/log/verify"))
    took, wait = longest_writer_wait(rt, lambda: client.get("/log/verify"))
    print(f"  /log/verify: {alone:.1f} s alone, {took:.1f} s beside the writer, longest append wait {wait:.2f} s")
    tracemalloc.start()  # apart: tracing slows Python down several times
    client.get("/log/verify")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  /log/verify: peak Python memory {peak / 2**20:.1f} MiB")

    def download() -> None:
        with client.get("/log/export.jsonl") as response:
            size = sum(len(chunk) for chunk in response.iter_encoded())
        print(f"  /log/export.jsonl: {size / 2**20:.1f} MiB", end="")

    took, wait = longest_writer_wait(rt, download)
    print(f" in {took:.1f} s, longest append wait {wait:.2f} s")

    def one_transaction() -> None:
        with rt.transaction() as session:
            verify_database(session)

    took, wait = longest_writer_wait(rt, one_transaction)
    print(f"  verify in one read transaction (for comparison): {took:.1f} s, longest append wait {wait:.2f} s")
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 entries instead of 100,000")
    parser.add_argument("--entries", type=int, help="how many entries to append")
    parser.add_argument("--postgres", action="store_true", help="on a throw-away PostgreSQL database")
    args = parser.parse_args()
    entries = args.entries or (20_000 if args.quick else 100_000)
    if not args.postgres:
        run(f"sqlite:///{tempfile.mkdtemp(prefix='pvm-bench-db-')}/pvm.sqlite3", entries)
        return
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    name = f"pvm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(f"{admin_url.rsplit('/', 1)[0]}/{name}", entries)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
