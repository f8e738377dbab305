"""Signed checkpoints and proofs over a long value log: how long `pvm log checkpoint`, `pvm log prove` and
`pvm log verify --checkpoint` take on 100,000 entries.

    python -m bench.log_proofs               # 100,000 entries on SQLite
    python -m bench.log_proofs --postgres    # on a throw-away PostgreSQL database instead
    python -m bench.log_proofs --entries 20000

The commands run as an operator runs them (a new `pvm` process each, start-up included), against a log filled
with `append_many` in batches of 1,000. The first checkpoint stores the tree's nodes for every entry (2n rows);
later ones read only the entries added since; a proof reads O(log n) nodes in one query.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from service import valuelog
from service.app import create_app
from service.config import Settings
from service.runtime import runtime
from service.storage import migrate

POSTGRES_ADMIN = os.environ.get("PVM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fill(settings: Settings, entries: int, start: int = 0) -> None:
    app = create_app(settings)
    rt = runtime(app)
    migrate.upgrade(rt.engine)
    for first in range(start, start + entries, 1000):
        with rt.transaction() as session:
            valuelog.append_many(
                session,
                [
                    valuelog.Pending(
                        "checkin.answered", f"checkin-round:{n % 50}", {"score": n % 5 - 2, "n": n}, "t", "link"
                    )
                    for n in range(first, min(first + 1000, start + entries))
                ],
            )
    rt.engine.dispose()


def in_process(settings: Settings, entries: int) -> None:
    """The same work without a process start: what the clock and the web routes pay."""
    from service.valuelog import audit, checkpoint, proofs

    app = create_app(settings)
    rt = runtime(app)

    def clock(label: str, work: Callable[[], object]) -> object:
        began = time.perf_counter()
        result = work()
        print(f"  {label:<46} {(time.perf_counter() - began) * 1000:9.1f} ms")
        return result

    print("in process:")
    with rt.transaction() as session:
        clock(f"checkpoint.issue (first: {entries:,} new)", lambda: checkpoint.issue(session, rt.settings))
    fill(settings, 1000, start=entries)
    with rt.transaction() as session:
        clock("checkpoint.issue (1,000 new)", lambda: checkpoint.issue(session, rt.settings))
    with rt.transaction() as session:
        for seq in (1, entries // 2, entries + 1000):
            clock(f"inclusion proof of seq {seq}", lambda seq=seq: proofs.inclusion_proof(session, rt.settings, seq))
        clock("consistency proof first -> second", lambda: proofs.consistency_proof(session, rt.settings, entries))
        newest = checkpoint.latest_signed(session, rt.settings)
        assert newest is not None
        clock("full verify (chain, root at the checkpoint, triggers)", lambda: audit.audit_database(session, [newest]))
    rt.engine.dispose()


def timed(label: str, args: list[str], env: dict[str, str]) -> str:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "service", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{label} failed: {done.stdout}{done.stderr}")
    print(f"{label:<48} {seconds:7.2f} s")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--in-process", action="store_true", help="time the functions, without process start-ups")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        database = f"sqlite:///{instance / 'pvm.sqlite3'}"
        admin = None
        if options.postgres:
            name = f"pvm_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            database = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
        try:
            env = {**os.environ, "DATABASE_URL": database, "PVM_INSTANCE_DIR": str(instance), "PVM_ENV": "test"}
            settings = Settings.from_env(env)
            began = time.perf_counter()
            fill(settings, options.entries)
            engine = "PostgreSQL" if options.postgres else "SQLite"
            print(f"{options.entries:,} entries on {engine}, filled in {time.perf_counter() - began:.1f} s")
            if options.in_process:
                in_process(settings, options.entries)
                return
            timed("pvm log key (process start-up, no work)", ["log", "key"], env)
            first = timed(f"pvm log checkpoint (first: {options.entries:,} new)", ["log", "checkpoint"], env)
            (instance / "first.note").write_text(first)
            fill(settings, 1000, start=options.entries)
            second = timed("pvm log checkpoint (1,000 new)", ["log", "checkpoint"], env)
            (instance / "second.note").write_text(second)
            for seq in (1, options.entries // 2, options.entries + 1000):
                timed(f"pvm log prove {seq}", ["log", "prove", str(seq)], env)
            timed("pvm log consistency (first -> second)", ["log", "consistency", str(options.entries)], env)
            timed(
                "pvm log verify --checkpoint first --checkpoint second",
                [
                    "log",
                    "verify",
                    "--checkpoint",
                    str(instance / "first.note"),
                    "--checkpoint",
                    str(instance / "second.note"),
                ],
                env,
            )
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
