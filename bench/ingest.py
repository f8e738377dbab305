"""Webhook intake throughput under `wrk`: signed GitHub deliveries into /webhooks/github, against the bare route
(the ceiling) and the peer `github-webhook` 1.0.4 (verifies, parses, dispatches, stores nothing).

    python -m bench.ingest            # about 3 minutes: SQLite and PostgreSQL, 3 rounds of 5 s per server
    python -m bench.ingest --quick    # about 40 seconds: 2 rounds of 2 s

The three servers run under gunicorn on 127.0.0.1 with the Procfile's settings (its config module pins each worker
to a CPU; 2 workers x 8 threads), are warmed up unmeasured, then measured in alternating rounds so a load swing on
the machine hits all alike. `wrk` (2 threads, 8 connections) sends the same signed 5.8 kB `issues` body with a
delivery id of its own per request. Afterwards every delivery the intake acknowledged (202) is looked up: each must
be stored exactly once, or the run exits 1. The peer needs `pip install -e '.[bench]'`; without it, it is skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import importlib.util
import os
import sys
import uuid
from dataclasses import dataclass

from sqlalchemy import create_engine, func, select

from bench import fleet, wrk
from service.storage.engine import normalise_url
from service.storage.models import Delivery

PAYLOAD = fleet.ROOT / "tests" / "fixtures" / "github" / "issues__labeled.json"
GOAL = 0.5
TARGETS = {"bare route": "bench.bare:app", "intake": "service.wsgi:app", "peer github-webhook": "bench.peer:app"}


def signed_headers(body: bytes) -> dict[str, str]:
    """The headers GitHub sends; both signatures, the peer checks the older SHA-1 one."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-Hub-Signature-256": "sha256=" + hmac.new(fleet.SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(fleet.SECRET.encode(), body, hashlib.sha1).hexdigest(),
    }


@dataclass(frozen=True)
class Check:
    acked: int
    missing: int
    doubled: int
    unacked_stored: int  # in flight when a round's time ran out: stored, the answer never read by wrk

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.doubled == 0


def check_stored(database_url: str, acked: list[str]) -> Check:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        counts = {
            delivery_id: int(count)
            for delivery_id, count in conn.execute(
                select(Delivery.delivery_id, func.count()).group_by(Delivery.delivery_id)
            )
        }
    engine.dispose()
    wanted = set(acked)
    return Check(
        acked=len(acked),
        missing=sum(1 for d in wanted if d not in counts) + (len(acked) - len(wanted)),
        doubled=sum(1 for d in wanted if counts.get(d, 0) > 1),
        unacked_stored=sum(1 for d in counts if d not in wanted),
    )


def run_engine(
    engine_name: str, args: argparse.Namespace, body: bytes, labels: list[str]
) -> tuple[dict[str, list[wrk.Run]], Check, dict[str, float]]:
    print(f"\n== {engine_name} ==", flush=True)
    headers = signed_headers(body)
    with fleet.database(engine_name) as db:
        env = db.env()
        servers = {}
        try:
            ports = {}
            for label in labels:
                ports[label] = fleet.free_port()
                servers[label] = fleet.gunicorn(TARGETS[label], ports[label], env, args.workers, args.server_threads)
            acked: list[str] = []
            runs: dict[str, list[wrk.Run]] = {label: [] for label in labels}
            tag = uuid.uuid4().hex[:8]
            for label in labels:  # warm-up: first requests pay imports, connections, statement compiling
                warm = wrk.run(
                    f"http://127.0.0.1:{ports[label]}/webhooks/github", body, headers, 1, f"w{tag}{label[0]}"
                )
                acked += warm.acked
            cpu: dict[str, float] = dict.fromkeys(labels, 0.0)
            for round_number in range(1, args.rounds + 1):
                for label in labels:
                    pids = fleet.gunicorn_workers(servers[label])
                    cpu_before = fleet.cpu_seconds(pids)
                    result = wrk.run(
                        f"http://127.0.0.1:{ports[label]}/webhooks/github",
                        body,
                        headers,
                        args.seconds,
                        f"r{round_number}{tag}{label[0]}",
                        label,
                        threads=args.wrk_threads,
                        connections=args.connections,
                    )
                    cpu[label] += fleet.cpu_seconds(pids) - cpu_before
                    runs[label].append(result)
                    acked += result.acked
                    other = {s: n for s, n in result.statuses.items() if not s.startswith("2")}
                    print(
                        f"  round {round_number} {label:20} {result.rate:8.0f}/s  p50 {result.p50:5.1f} ms  "
                        f"p99 {result.p99:6.1f} ms{f'  non-2xx {other}' if other else ''}"
                        f"{f'  errors {result.errors}' if result.errors else ''}",
                        flush=True,
                    )
            check = check_stored(db.url, acked)
        finally:
            for server in servers.values():
                fleet.stop(server)
    # CPU per answer of the gunicorn workers: what the machine's other load cannot change much (the database
    # server's own CPU, PostgreSQL's backends, is not in it).
    cpu_ms = {label: 1000 * cpu[label] / max(1, sum(r.requests for r in runs[label])) for label in labels}
    return runs, check, cpu_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 40 seconds in all")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's WEB_CONCURRENCY)")
    parser.add_argument("--server-threads", type=int, default=8, help="gunicorn --threads, as in the Procfile")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=None, help="seconds per round per server")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    if wrk.available() is None:
        print("bench.ingest: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    labels = list(TARGETS)
    if importlib.util.find_spec("github_webhook") is None:
        print("  (peer skipped: pip install -e '.[bench]' installs github-webhook 1.0.4)")
        labels.remove("peer github-webhook")
    body = PAYLOAD.read_bytes()
    print(
        f"bench.ingest: wrk -t{args.wrk_threads} -c{args.connections}, signed GitHub `issues` deliveries of "
        f"{len(body)} bytes, gunicorn {args.workers} workers x {args.server_threads} threads (the Procfile's config), "
        f"{args.rounds} rounds of {args.seconds:.0f} s per server; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    table = []
    ok = True
    for name in [n.strip() for n in args.engines.split(",") if n.strip()]:
        runs, check, cpu_ms = run_engine(name, args, body, labels)
        bare = runs["bare route"]
        bare_rate = sum(r.requests for r in bare) / sum(r.seconds for r in bare)
        for label in labels:
            rates = [r.rate for r in runs[label]]
            ratios = [r.rate / b.rate for r, b in zip(runs[label], bare, strict=True) if b.rate]
            overall = sum(r.requests for r in runs[label]) / sum(r.seconds for r in runs[label]) / bare_rate
            p99 = max(r.p99 for r in runs[label])
            table.append((name, label, min(rates), max(rates), overall, min(ratios), max(ratios), p99, cpu_ms[label]))
        print(
            f"  acknowledged {check.acked} deliveries (warm-up included): missing {check.missing}, stored twice "
            f"{check.doubled}; {check.unacked_stored} stored whose answer wrk never read (in flight at a round's end)",
            flush=True,
        )
        ok = ok and check.ok
    print(
        "\n| engine | server | answers/s (rounds) | x bare route (all rounds; per round) | worst p99 "
        "| worker CPU per answer |"
    )
    print("|---|---|---|---|---|---|")
    for name, label, low, high, overall, r_low, r_high, p99, cpu_ms in table:
        print(
            f"| {name} | {label} | {low:,.0f}-{high:,.0f} | {overall:.2f} ({r_low:.2f}-{r_high:.2f}) | "
            f"{p99:.1f} ms | {cpu_ms:.2f} ms |"
        )
    intake = [row for row in table if row[1] == "intake"]
    worst = min(row[4] for row in intake) if intake else 0.0
    print(
        f"\nsummary: intake {' / '.join(f'{r[0]} {r[4]:.2f}x' for r in intake)} the bare route "
        f"(goal >= {GOAL}: {'met' if worst >= GOAL else 'NOT met'}); every acknowledged delivery stored once: "
        f"{'yes' if ok else 'NO'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
