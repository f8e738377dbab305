"""Webhook intake throughput: signed GitHub deliveries per second into /webhooks/github, against a bare route.

    python -m bench.ingest            # about 2 minutes: SQLite and PostgreSQL, 20 s per server
    python -m bench.ingest --quick    # about 40 seconds

Both servers run under gunicorn on 127.0.0.1 with the same settings (the Procfile's: its config module, which pins
each worker to a CPU, and 8 threads per worker), measured in the same run. Afterwards every acknowledged (202)
delivery is looked up: each must be stored exactly once. PostgreSQL runs in a throw-away
database made for the run (PVM_BENCH_POSTGRES_URL names the server, default postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from service.config import Settings
from service.storage import migrate
from service.storage.engine import make_engine, normalise_url
from service.storage.models import Delivery

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "tests" / "fixtures" / "github" / "issues__labeled.json"
SECRET = "bench-secret"
ADMIN_URL = os.environ.get("PVM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GUNICORN_CONFIG = "python:service.gunicorn_config"  # as in the Procfile: one CPU per worker
MAX_REQUESTS_PER_CLIENT = 200_000  # a bound on every loop, whatever the duration


@dataclass(frozen=True)
class Result:
    label: str
    seconds: float
    latencies: list[float]
    acked: list[str]
    other: dict[int, int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn(
    target: str, port: int, env: dict[str, str], workers: int, threads: int, pinned: bool
) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *(["--config", GUNICORN_CONFIG] if pinned else []),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        target,
    ]
    # Server output goes to a file, not a pipe: nobody reads a pipe while measuring, and a full one would stall
    # the server's logging (and so its requests) mid-run.
    log_path = Path(env["PVM_INSTANCE_DIR"]) / f"gunicorn-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=log_file, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {target} exited: {log_path.read_text(errors='replace')}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn {target} did not answer within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _client(port: int, body: bytes, seconds: float, threads: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One load process: `threads` loops, each one request at a time, until the deadline or the bound."""
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    acked: list[str] = []
    other: dict[int, int] = {}
    lock = threading.Lock()

    def loop() -> None:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            delivery = str(uuid.uuid4())
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": signature,
            }
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", "/webhooks/github", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                conn.close()
            elapsed = time.perf_counter() - started
            with lock:
                if status == 202:
                    latencies.append(elapsed)
                    acked.append(delivery)
                else:
                    other[status] = other.get(status, 0) + 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, acked, other))


def _send(port: int, body: bytes, seconds: float, processes: int, threads: int) -> Result:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    started = time.monotonic()
    clients = [
        multiprocessing.Process(target=_client, args=(port, body, seconds, threads, queue)) for _ in range(processes)
    ]
    for client in clients:
        client.start()
    latencies: list[float] = []
    acked: list[str] = []
    other: dict[int, int] = {}
    for _ in clients:
        part_latencies, part_acked, part_other = queue.get(timeout=seconds + 120)
        latencies += part_latencies
        acked += part_acked
        for status, count in part_other.items():
            other[status] = other.get(status, 0) + count
    for client in clients:
        client.join()
    return Result("", time.monotonic() - started, latencies, acked, other)


def measure_pair(
    ports: dict[str, int], body: bytes, args: argparse.Namespace
) -> tuple[dict[str, Result], dict[str, list[str]]]:
    """Alternate short rounds between the servers, so a load swing on the machine hits both alike."""
    parts: dict[str, list[Result]] = {label: [] for label in ports}
    slice_seconds = args.seconds / args.rounds
    senders = args.processes * args.threads
    print(f"  {senders} concurrent senders, {args.rounds} alternating rounds of {slice_seconds:.1f} s each", flush=True)
    # Not measured, same for both: each gunicorn worker's first requests pay one-off costs (imports on first use,
    # opening its database connection, SQLAlchemy compiling its statements) that say nothing about throughput.
    warmed = {
        label: _send(port, body, args.warmup, args.processes, args.threads).acked for label, port in ports.items()
    }
    for round_number in range(1, args.rounds + 1):
        for label, port in ports.items():
            part = _send(port, body, slice_seconds, args.processes, args.threads)
            parts[label].append(part)
            print(f"    round {round_number} {label}: {part.rate:7.1f}/s", flush=True)
    results = {}
    for label, pieces in parts.items():
        other: dict[int, int] = {}
        for piece in pieces:
            for status, count in piece.other.items():
                other[status] = other.get(status, 0) + count
        result = Result(
            label,
            sum(piece.seconds for piece in pieces),
            [value for piece in pieces for value in piece.latencies],
            [value for piece in pieces for value in piece.acked],
            other,
        )
        refused = f", other answers {other}" if other else ""
        print(
            f"  {label:16}: {result.rate:8.1f} acknowledged/s, p50 {result.percentile(0.5):6.1f} ms, "
            f"p99 {result.percentile(0.99):6.1f} ms ({len(result.latencies)} requests{refused})",
            flush=True,
        )
        results[label] = result
    return results, warmed


def check_stored(database_url: str, acked: list[str]) -> tuple[int, int, int]:
    """(stored rows, acknowledged but missing, stored more than once) for the acknowledged delivery ids."""
    engine = create_engine(normalise_url(database_url))
    wanted = set(acked)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(Delivery.delivery_id, func.count()).group_by(Delivery.delivery_id))
        for delivery_id, count in rows:
            counts[delivery_id] = int(count)
    engine.dispose()
    missing = sum(1 for delivery_id in wanted if delivery_id not in counts)
    doubled = sum(1 for delivery_id in wanted if counts.get(delivery_id, 0) > 1)
    return sum(counts.values()), missing, doubled


def run_engine(engine_name: str, args: argparse.Namespace, body: bytes) -> bool:
    print(f"\n== {engine_name} ==", flush=True)
    instance = Path(tempfile.mkdtemp(prefix="pvm-bench-"))
    pg_name = None
    if engine_name == "sqlite":
        database_url = f"sqlite:///{instance / 'bench.sqlite3'}"
    else:
        pg_name = f"pvm_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        database_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    settings = Settings(instance_dir=instance, database_url=database_url)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PVM_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        PVM_INSTANCE_DIR=str(instance),
        PVM_GITHUB_WEBHOOK_SECRET=SECRET,
        PVM_JIRA_WEBHOOK_SECRET=SECRET,
        PVM_SECRET_KEY="bench",
    )
    ok = True
    servers = []
    try:
        bare_port, service_port = free_port(), free_port()
        for target, port in (("bench.bare:app", bare_port), ("service.wsgi:app", service_port)):
            servers.append(gunicorn(target, port, env, args.workers, args.server_threads, not args.unpinned))
        config = "" if args.unpinned else f"--config {GUNICORN_CONFIG} "
        print(
            f"  gunicorn {config}--workers {args.workers} --threads {args.server_threads} on 127.0.0.1 "
            f"(bare :{bare_port}, service :{service_port})"
        )
        measured, warmed = measure_pair({"bare route": bare_port, "/webhooks/github": service_port}, body, args)
        bare, service = measured["bare route"], measured["/webhooks/github"]
        ratio = service.rate / bare.rate if bare.rate else 0.0
        print(f"  ratio service/bare: {ratio:.2f} (goal >= 0.5)", flush=True)
        acked = warmed["/webhooks/github"] + service.acked  # warm-up deliveries were acknowledged too
        stored, missing, doubled = check_stored(database_url, acked)
        print(
            f"  acknowledged {len(acked)} (with warm-up), stored rows {stored}, missing {missing}, "
            f"stored twice {doubled}",
            flush=True,
        )
        ok = missing == 0 and doubled == 0 and stored == len(acked)
        print(f"  every acknowledged delivery stored exactly once: {'yes' if ok else 'NO'}", flush=True)
    finally:
        for server in servers:
            stop(server)
        if pg_name:
            admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 30 seconds in all")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="gunicorn workers")
    # 8, as in the Procfile: while one batch waits for the disk, the next fills (2 workers x 4 threads left half
    # the 16 senders queued outside the workers and the batches small); the bare route does not mind either way.
    parser.add_argument("--server-threads", type=int, default=8, help="gunicorn --threads, for both servers")
    parser.add_argument(
        "--unpinned", action="store_true", help=f"both servers without {GUNICORN_CONFIG} (workers not pinned to CPUs)"
    )
    parser.add_argument("--processes", type=int, default=2, help="load-generating processes")
    parser.add_argument("--threads", type=int, default=8, help="senders per load process")
    parser.add_argument("--seconds", type=float, default=None, help="measured time per server")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per server before measuring")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds the time is split into")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (4.0 if args.quick else 20.0)
    args.rounds = args.rounds or (4 if args.quick else 5)
    body = PAYLOAD.read_bytes()
    print(
        f"bench.ingest: signed GitHub `issues` deliveries of {len(body)} bytes; "
        f"{args.seconds:.0f} s per measurement; {os.cpu_count()} CPUs",
        flush=True,
    )
    results = [run_engine(name.strip(), args, body) for name in args.engines.split(",") if name.strip()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
