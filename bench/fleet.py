"""The processes the benchmarks run, as the Procfile runs them: a throw-away database, gunicorn, `pvm worker`.

Everything listens on 127.0.0.1 only. PostgreSQL databases are made for one run and dropped after it
(PVM_BENCH_POSTGRES_URL names the server, default postgres@127.0.0.1:5432/test). The run's folder (the SQLite file,
the servers' and workers' logs) is removed afterwards unless PVM_BENCH_KEEP=1, which prints where it is.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from service.config import Settings
from service.storage import migrate
from service.storage.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret"
ADMIN_URL = os.environ.get("PVM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GUNICORN_CONFIG = "python:service.gunicorn_config"  # as in the Procfile: one CPU per worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Database:
    engine_name: str
    url: str
    instance: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of every process of the run: the database, the secrets, nothing of the caller's PVM_."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PVM_", "DATABASE_URL"))}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(
            DATABASE_URL=self.url,
            PVM_INSTANCE_DIR=str(self.instance),
            PVM_GITHUB_WEBHOOK_SECRET=SECRET,
            PVM_JIRA_WEBHOOK_SECRET=SECRET,
            PVM_SECRET_KEY="bench",
        )
        env.update(extra)
        return env


@contextlib.contextmanager
def database(engine_name: str) -> Iterator[Database]:
    """A migrated database for one run: a SQLite file in a temporary folder, or a PostgreSQL database dropped after."""
    instance = Path(tempfile.mkdtemp(prefix="pvm-bench-"))
    pg_name = None
    if engine_name == "sqlite":
        url = f"sqlite:///{instance / 'bench.sqlite3'}"
    elif engine_name == "postgresql":
        pg_name = f"pvm_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    else:
        raise SystemExit(f"unknown engine {engine_name!r}: sqlite or postgresql")
    engine = make_engine(Settings(instance_dir=instance, database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield Database(engine_name, url, instance)
    finally:
        if pg_name:
            drop_postgres_database(pg_name)
        if os.environ.get("PVM_BENCH_KEEP") == "1":
            print(f"  (logs of the {engine_name} run kept in {instance})", flush=True)
        else:
            shutil.rmtree(instance, ignore_errors=True)


def drop_postgres_database(name: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            return
        except Exception:  # the server may still be starting after a restart benchmark
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _wait_http(port: int, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on :{port} did not answer within {timeout:.0f} s")


def gunicorn(
    target: str, port: int, env: dict[str, str], workers: int = 2, threads: int = 8
) -> subprocess.Popen[bytes]:
    """gunicorn with the Procfile's settings (its config module, 8 threads), logs to a file in the instance folder."""
    command = [
        str(BIN / "gunicorn"),
        "--config",
        GUNICORN_CONFIG,
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
    # A file, not a pipe: nobody reads a pipe while measuring, and a full one would stall the server mid-run.
    log_path = Path(env["PVM_INSTANCE_DIR"]) / f"gunicorn-{port}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=log_file, start_new_session=True)
    _wait_http(port, process, log_path)
    return process


def worker(env: dict[str, str], number: int, wait: bool = False) -> subprocess.Popen[bytes]:
    """One `pvm worker`, as the Procfile's `worker` role runs it; `wait`: until it says it started (on a loaded
    machine its start takes seconds, and it refuses to start while the database is unreachable)."""
    log_path = Path(env["PVM_INSTANCE_DIR"]) / f"worker-{number}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [str(BIN / "pvm"), "worker"], env=env, cwd=ROOT, stderr=log_file, stdout=log_file, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while wait and "worker started" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"pvm worker did not start: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return process


def gunicorn_workers(master: subprocess.Popen[bytes]) -> list[int]:
    """The pids of a gunicorn master's worker processes (its children)."""
    try:
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM to the process group (gunicorn's workers included), SIGKILL after `timeout`."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (Linux /proc; 0 for one that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)
    return total
