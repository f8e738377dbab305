"""Signed GitHub and Jira deliveries at a fixed arrival rate against the Procfile's fleet on PostgreSQL: gunicorn
(2 workers x 8 threads) and 2 `pvm worker` processes; 5 % duplicates, shuffled order.

    python -m bench.load            # 8 deliveries/s for 60 s
    python -m bench.load --quick    # 4/s for 20 s

Afterwards every acknowledged delivery must be stored once and processed (status processed or ignored, none
pending, failed or dead), and `pvm log verify` must say OK; otherwise the run exits 1. Latency is from receipt
(`received_at`) to processed (`processed_at`), both stamped by the service. `bench.crash` and `bench.dbrestart` run
the same scenario with faults (`--fault`).

The sender is an open loop: each delivery has its time in a fixed schedule and goes then, whatever the answers
before it (a closed loop would slow down with the server and hide queueing). Like GitHub's redeliver button and
Jira's retries, it sends a delivery again, same id and body, when the answer is no answer or a 5xx, until a 2xx.
The rates asked here are a small fraction of what `wrk` gets from the bare route (printed first as the ceiling),
and the run reports how late the sender was against its schedule, so a reader can see it kept up.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, select

from bench import fleet, wrk
from service.storage.engine import normalise_url
from service.storage.models import Delivery

FIXTURES = fleet.ROOT / "tests" / "fixtures"
PG_VERSION_DIR = "/etc/postgresql"  # Debian's pg_ctlcluster layout: one folder per major version


@dataclass
class Outgoing:
    source: str
    delivery_id: str
    path: str
    body: bytes
    headers: dict[str, str]
    at: float  # seconds after the start
    answers: list[int] = field(default_factory=list)
    sent_late: float = 0.0


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(fleet.SECRET.encode(), body, hashlib.sha256).hexdigest()


def deliveries(rate: float, seconds: float, subjects: int, seed: int) -> list[Outgoing]:
    """GitHub `issues` (labeled, edited) and Jira `jira:issue_updated` deliveries over `subjects` tickets each,
    shuffled, 5 % of them sent twice (same id and body), spread evenly over the run."""
    rng = random.Random(seed)
    github = [json.loads((FIXTURES / "github" / f"issues__{name}.json").read_text()) for name in ("labeled", "edited")]
    jira = json.loads((FIXTURES / "jira" / "issue_updated__labels.json").read_text())
    total = int(rate * seconds)
    originals = int(total / 1.05)
    made: list[Outgoing] = []
    started = datetime(2026, 11, 21, tzinfo=UTC)
    for n in range(originals):
        ticket = rng.randrange(1, subjects + 1)
        stamp = started + timedelta(seconds=n)
        if n % 2 == 0:
            payload = copy.deepcopy(github[n % 4 // 2])
            issue = payload["issue"]
            issue["number"], issue["id"], issue["node_id"] = ticket, 900_000 + ticket, f"I_bench{ticket}"
            for key in ("url", "html_url"):
                issue[key] = issue[key].rsplit("/", 1)[0] + f"/{ticket}"
            issue["updated_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps(payload).encode()
            delivery_id = f"gh-{seed}-{n}"
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": delivery_id,
                "X-Hub-Signature-256": _sign(body),
            }
            made.append(Outgoing("github", delivery_id, "/webhooks/github", body, headers, 0.0))
        else:
            payload = copy.deepcopy(jira)
            payload["issue"]["key"], payload["issue"]["id"] = f"PERM-{ticket}", str(20_000 + ticket)
            payload["timestamp"] = int(stamp.timestamp() * 1000)
            body = json.dumps(payload).encode()
            delivery_id = f"jira-{seed}-{n}"
            headers = {
                "Content-Type": "application/json",
                "X-Atlassian-Webhook-Identifier": delivery_id,
                "X-Hub-Signature": _sign(body),
            }
            made.append(Outgoing("jira", delivery_id, "/webhooks/jira", body, headers, 0.0))
    duplicates = [copy.copy(rng.choice(made)) for _ in range(total - originals)]
    schedule = made + duplicates
    rng.shuffle(schedule)
    for index, item in enumerate(schedule):
        item.at = index / rate
        item.answers = []
    return schedule


class Sender:
    """Sends the schedule from `threads` threads, each with its own kept-alive connection."""

    def __init__(self, port: int, schedule: list[Outgoing], threads: int = 16, give_up_after: float = 120.0) -> None:
        self.port, self.schedule, self.threads, self.give_up_after = port, schedule, threads, give_up_after
        self.next = 0
        self.lock = threading.Lock()
        self.started = 0.0

    def _take(self) -> Outgoing | None:
        with self.lock:
            if self.next >= len(self.schedule):
                return None
            item = self.schedule[self.next]
            self.next += 1
            return item

    def _loop(self) -> None:
        while (item := self._take()) is not None:
            delay = self.started + item.at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            item.sent_late = max(0.0, -delay)
            deadline = time.monotonic() + self.give_up_after
            while time.monotonic() < deadline:
                # A connection per request, as trackers open them: a kept-alive one that the server closed while
                # idle would fail the next request and count as a fault that was the client's own.
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                try:
                    conn.request("POST", item.path, body=item.body, headers={**item.headers, "Connection": "close"})
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0
                finally:
                    conn.close()
                item.answers.append(status)
                if 200 <= status < 300 or 400 <= status < 500:
                    break
                time.sleep(0.5)  # the tracker's retry

    def run(self) -> None:
        self.started = time.monotonic()
        workers = [threading.Thread(target=self._loop) for _ in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()


def bare_ceiling(seconds: float) -> float:
    """The bare route's rate under `wrk` on this machine now: the ceiling of any HTTP load here."""
    with fleet.database("sqlite") as db:
        port = fleet.free_port()
        server = fleet.gunicorn("bench.bare:app", port, db.env())
        try:
            body = (FIXTURES / "github" / "issues__labeled.json").read_bytes()
            return wrk.run(f"http://127.0.0.1:{port}/webhooks/github", body, {}, seconds, "ceiling").rate
        finally:
            fleet.stop(server)


class Faults:
    """kill -9 of a gunicorn worker and of a `pvm worker` in turn (`crash`), or PostgreSQL stopped and started
    again (`dbrestart`), while the sender runs."""

    def __init__(self, kind: str, every: float, web: subprocess.Popen[bytes], workers: list, env: dict) -> None:
        self.kind, self.every, self.web, self.workers, self.env = kind, every, web, workers, env
        self.stop_event = threading.Event()
        self.events: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=120)

    def _run(self) -> None:
        turn = 0
        while not self.stop_event.wait(self.every):
            if self.kind == "crash":
                if turn % 2 == 0:
                    pids = fleet.gunicorn_workers(self.web)
                    if pids:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pids[0], signal.SIGKILL)
                        self.events.append(f"{time.strftime('%H:%M:%S')} kill -9 gunicorn worker {pids[0]}")
                else:
                    index = turn // 2 % len(self.workers)
                    victim = self.workers[index]
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(victim.pid, signal.SIGKILL)
                    victim.wait()
                    # The supervisor (a Procfile runner, systemd) starts the role again.
                    self.workers[index] = fleet.worker(self.env, 100 + turn)
                    self.events.append(f"{time.strftime('%H:%M:%S')} kill -9 pvm worker {victim.pid}, started again")
                turn += 1
            elif self.kind == "dbrestart" and turn == 0:
                restart_postgres(self.events, down_for=3.0)
                turn += 1


def pg_ctl(action: str) -> None:
    version = sorted(os.listdir(PG_VERSION_DIR))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def restart_postgres(events: list[str], down_for: float) -> None:
    """Stop PostgreSQL, keep it down `down_for` seconds, start it again; started again whatever happens."""
    try:
        pg_ctl("stop")
        events.append(f"{time.strftime('%H:%M:%S')} PostgreSQL stopped")
        time.sleep(down_for)
    finally:
        pg_ctl("start")
        events.append(f"{time.strftime('%H:%M:%S')} PostgreSQL started")


@dataclass(frozen=True)
class Outcome:
    acked: int
    duplicate_answers: int
    never_acked: int
    missing: int
    doubled: int
    unfinished: dict[str, int]
    attempts: Counter[int]
    p50: float
    p99: float
    drained_in: float
    log_line: str

    @property
    def ok(self) -> bool:
        return (
            self.never_acked == 0
            and self.missing == 0
            and self.doubled == 0
            and not self.unfinished
            and self.log_line.startswith("OK")
        )


def settle(database_url: str, schedule: list[Outgoing], env: dict[str, str], timeout: float) -> Outcome:
    """Wait until no delivery is unfinished (or `timeout`), then check every acknowledged one."""
    engine = create_engine(normalise_url(database_url))
    started = time.monotonic()
    unfinished: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Delivery.status, func.count())
                .where(Delivery.status.in_(("pending", "processing", "failed", "dead")))
                .group_by(Delivery.status)
            )
            unfinished = {status: int(count) for status, count in rows}
        if not unfinished:
            break
        time.sleep(0.5)
    drained_in = time.monotonic() - started
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Delivery.source, Delivery.delivery_id, Delivery.attempts, Delivery.received_at, Delivery.processed_at
            )
        ).all()
    engine.dispose()
    stored = Counter((source, delivery_id) for source, delivery_id, *_ in rows)
    acked = {(item.source, item.delivery_id) for item in schedule if any(200 <= a < 300 for a in item.answers)}
    never = {(item.source, item.delivery_id) for item in schedule} - acked
    latencies = sorted(
        (processed - received).total_seconds() * 1000 for *_, received, processed in rows if processed and received
    )

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    verify = subprocess.run(
        [str(fleet.BIN / "pvm"), "log", "verify"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return Outcome(
        acked=len(acked),
        duplicate_answers=sum(item.answers.count(200) for item in schedule),
        never_acked=len(never),
        missing=sum(1 for key in acked if stored[key] == 0),
        doubled=sum(1 for key in acked if stored[key] > 1),
        unfinished=unfinished,
        attempts=Counter(int(attempts) for _, _, attempts, *_ in rows),
        p50=pct(0.5),
        p99=pct(0.99),
        drained_in=drained_in,
        log_line=(verify.stdout.strip() or verify.stderr.strip()).splitlines()[-1]
        if verify.stdout or verify.stderr
        else "",
    )


def scenario(args: argparse.Namespace, fault: str | None) -> int:
    name = f"bench.{fault or 'load'}"
    ceiling = bare_ceiling(2 if args.quick else 5)
    schedule = deliveries(args.rate, args.seconds, args.subjects, args.seed)
    print(
        f"{name}: {len(schedule)} signed GitHub and Jira deliveries at {args.rate:.0f}/s for {args.seconds:.0f} s "
        f"(5 % duplicates, shuffled) into gunicorn 2 x 8 threads + {args.workers} pvm workers on PostgreSQL; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; the bare route under wrk here: "
        f"{ceiling:,.0f}/s",
        flush=True,
    )
    with fleet.database("postgresql") as db:
        # Short leases so a killed worker's claims are taken over within the run (the default is 5 minutes).
        env = db.env(PVM_OUTBOUND="record", PVM_WORKER_LEASE=str(args.lease), PVM_TRACKER_TIMEOUT="5")
        port = fleet.free_port()
        web = fleet.gunicorn("service.wsgi:app", port, env)
        workers = [fleet.worker(env, n, wait=True) for n in range(args.workers)]
        faults = Faults(fault, args.every, web, workers, env) if fault else None
        try:
            sender = Sender(port, schedule)
            began = time.monotonic()
            if faults:
                faults.start()
            sender.run()
            sent_for = time.monotonic() - began
            if faults:
                faults.stop()
            outcome = settle(db.url, schedule, env, timeout=args.lease + 120)
        finally:
            if faults:
                faults.stop()
            fleet.stop(web)
            for process in workers:
                fleet.stop(process)
    answers = Counter(a for item in schedule for a in item.answers)
    late = sorted(item.sent_late for item in schedule)
    for line in faults.events if faults else []:
        print(f"  {line}")
    print(
        f"\n| deliveries | answers | acknowledged | stored twice | missing | unfinished | attempts | receipt to "
        f"processed p50 / p99 | drained after sending | log |\n|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {len(schedule)} in {sent_for:.1f} s | {dict(sorted(answers.items()))} | {outcome.acked} "
        f"({outcome.never_acked} never) | {outcome.doubled} | {outcome.missing} | {outcome.unfinished or 0} | "
        f"{dict(sorted(outcome.attempts.items()))} | {outcome.p50:,.0f} / {outcome.p99:,.0f} ms | "
        f"{outcome.drained_in:.1f} s | {outcome.log_line} |"
    )
    print(f"  sender behind schedule: p50 {late[len(late) // 2] * 1000:.0f} ms, max {late[-1] * 1000:.0f} ms")
    print(
        f"\nsummary: {name} {'OK' if outcome.ok else 'FAILED'}: {outcome.acked} acknowledged, {outcome.missing} "
        f"missing, {outcome.doubled} stored twice, {sum(outcome.unfinished.values())} unfinished, receipt to "
        f"processed p99 {outcome.p99:,.0f} ms; {outcome.log_line}"
    )
    return 0 if outcome.ok else 1


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help="about 30 seconds of load")
    parser.add_argument("--rate", type=float, default=None, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="pvm worker processes")
    parser.add_argument("--subjects", type=int, default=200, help="tickets per tracker the deliveries change")
    parser.add_argument("--lease", type=float, default=15.0, help="PVM_WORKER_LEASE for the run, seconds")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    return parser


def main(argv: list[str] | None = None, fault: str | None = None) -> int:
    doc = (sys.modules[__name__].__doc__ or "").splitlines()[0]
    args = parser(f"python -m bench.{fault or 'load'}", doc).parse_args(argv)
    # Below what two workers process on a shared 2-CPU machine (bench.scale): the arrival rate is kept, the
    # question is whether every delivery gets through, and how long it waits.
    args.rate = args.rate or (4.0 if args.quick else 8.0)
    args.seconds = args.seconds or (20.0 if args.quick else 60.0)
    return scenario(args, fault)


if __name__ == "__main__":
    sys.exit(main())
