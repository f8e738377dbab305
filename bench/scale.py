"""Processing throughput: deliveries processed per second by 1, 2 and 4 `pvm worker` processes on PostgreSQL, and
by one on the SQLite default.

    python -m bench.scale            # 600 deliveries per run
    python -m bench.scale --quick    # 80 per run (about 2 minutes)
    python -m bench.scale --profile  # one worker in this process under cProfile: where a delivery's time goes

Each run stores the same kind of backlog first (signed GitHub and Jira deliveries through gunicorn, workers
stopped), then starts the workers and times the drain from their start to the last delivery processed. Goal: two
workers >= 1.6 x one. Every delivery must end processed or ignored, and `pvm log verify` OK, or the run exits 1.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time

from sqlalchemy import create_engine, func, select

from bench import fleet
from bench.load import Sender, bare_ceiling, deliveries
from service.storage.engine import normalise_url
from service.storage.models import Delivery

GOAL = 1.6


def backlog(db: fleet.Database, count: int, seed: int) -> int:
    """`count` deliveries stored through gunicorn, none processed yet; returns how many were acknowledged."""
    env = db.env(PVM_OUTBOUND="record")
    port = fleet.free_port()
    web = fleet.gunicorn("service.wsgi:app", port, env)
    try:
        schedule = deliveries(rate=400.0, seconds=count / 400.0, subjects=200, seed=seed)
        Sender(port, schedule).run()
    finally:
        fleet.stop(web)
    return sum(1 for item in schedule if 202 in item.answers)


def unfinished(engine_url: str) -> int:
    engine = create_engine(normalise_url(engine_url))
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).where(Delivery.status.in_(("pending", "processing", "failed", "dead")))
        )
    engine.dispose()
    return int(count or 0)


def drain(db: fleet.Database, workers: int, timeout: float) -> tuple[float, int]:
    """Seconds for `workers` pvm workers to leave nothing unfinished, and how many were left at the timeout."""
    env = db.env(PVM_OUTBOUND="record")
    started = time.monotonic()
    processes = [fleet.worker(env, n) for n in range(workers)]
    try:
        left = unfinished(db.url)
        while left and time.monotonic() - started < timeout:
            time.sleep(0.25)
            left = unfinished(db.url)
        return time.monotonic() - started, left
    finally:
        for process in processes:
            fleet.stop(process)


def verify(db: fleet.Database) -> str:
    done = subprocess.run(
        [str(fleet.BIN / "pvm"), "log", "verify"],
        env=db.env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return (done.stdout or done.stderr).strip().splitlines()[-1]


def profile(count: int, seed: int) -> int:
    """One worker, in this process, under cProfile over a backlog on PostgreSQL."""
    from service.app import create_app
    from service.config import Settings
    from service.runtime import runtime
    from service.worker import Worker

    with fleet.database("postgresql") as db:
        stored = backlog(db, count, seed)
        app = create_app(Settings(instance_dir=db.instance, database_url=db.url, outbound="record"))
        rt = runtime(app)
        worker = Worker(rt)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        while worker.run_once():
            pass
        profiler.disable()
        seconds = time.perf_counter() - started
        rt.engine.dispose()
    print(f"bench.scale --profile: {stored} deliveries in {seconds:.1f} s by one worker ({stored / seconds:.1f}/s)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
    print(out.getvalue())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int, default=None, help="deliveries per run")
    parser.add_argument("--workers", default="1,2,4", help="worker counts on PostgreSQL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timeout", type=float, default=None, help="seconds a drain may take")
    args = parser.parse_args(argv)
    count = args.count or (80 if args.quick else 600)
    timeout = args.timeout or (120.0 if args.quick else 600.0)
    seed = int(time.time()) % 100_000
    if args.profile:
        return profile(count, seed)
    print(
        f"bench.scale: {count} deliveries per run, stored first, then drained; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; the bare route under wrk here: {bare_ceiling(2):,.0f}/s",
        flush=True,
    )
    runs = [("postgresql", int(n)) for n in args.workers.split(",")] + [("sqlite", 1)]
    rows = []
    ok = True
    for engine_name, workers in runs:
        with fleet.database(engine_name) as db:
            stored = backlog(db, count, seed + workers)
            seconds, left = drain(db, workers, timeout)
            line = verify(db)
        rate = (stored - left) / seconds
        ok = ok and left == 0 and line.startswith("OK")
        rows.append((engine_name, workers, stored, seconds, rate, left, line))
        print(f"  {engine_name} x{workers}: {rate:.1f}/s ({left} left) {line[:30]}", flush=True)
    print("\n| engine | workers | deliveries | drained in | processed/s | x one worker | left | log |")
    print("|---|---|---|---|---|---|---|---|")
    one = next((r[4] for r in rows if r[0] == "postgresql" and r[1] == 1), 0.0)
    for engine_name, workers, stored, seconds, rate, left, line in rows:
        factor = f"{rate / one:.2f}" if one and engine_name == "postgresql" else "-"
        print(
            f"| {engine_name} | {workers} | {stored} | {seconds:.1f} s | {rate:.1f} | {factor} | {left} | {line[:40]} |"
        )
    two = next((r[4] for r in rows if r[0] == "postgresql" and r[1] == 2), 0.0)
    factor = two / one if one else 0.0
    verdict = "met" if factor >= GOAL else "NOT met"
    print(
        f"\nsummary: 2 workers {factor:.2f}x one on PostgreSQL (goal >= {GOAL}: {verdict})"
        f"; every delivery processed and the log verified: {'yes' if ok else 'NO'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
