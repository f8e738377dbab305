"""Outbound actions through faults: comments and labels sent by 2 `pvm worker` processes to a local stand-in GitHub
API that answers 403 rate-limit, 429 with Retry-After, 502, and times out after accepting.

    python -m bench.outbound            # 40 actions
    python -m bench.outbound --quick    # 12 actions

Every action must reach the stand-in exactly once (one comment per comment action, its label on the issue for an
add, gone for a remove), writes must keep the pace (one a second per tracker, across workers) and wait what the
stand-in asked for (Retry-After, the rate-limit reset), or the run exits 1. PostgreSQL, a throw-away database.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import create_engine, func, select

from bench import fleet
from bench.load import bare_ceiling
from service.config import Settings
from service.outbox.queue import enqueue
from service.storage.engine import make_engine, make_session_factory, normalise_url
from service.storage.models import OutboxItem

COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
LABELS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/labels(?:/(.+))?$")
TIMEOUT = 2.0  # PVM_TRACKER_TIMEOUT of the run; the stand-in's slow answers take longer
FAULTS = ("403-rate-limit", "429-retry-after", "502", "timeout-after-accepting")


@dataclass
class StandIn:
    """GitHub's issues API as far as the outbox uses it. Every `every`-th write meets the next fault in turn."""

    every: int = 3
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, set[str]] = field(default_factory=dict)
    writes: list[tuple[float, str, int]] = field(default_factory=list)  # (time, what, answer)
    waits: list[tuple[float, float]] = field(default_factory=list)  # (asked at, not before)
    early: int = 0  # writes that came before the time the stand-in asked for
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, number: int) -> str | None:
        if number % self.every:
            return None
        return FAULTS[(number // self.every - 1) % len(FAULTS)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting; what was accepted stays accepted

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def do_GET(self) -> None:
        match = COMMENTS.match(urlsplit(self.path).path)
        if match:
            with self.server.state.lock:
                found = list(self.server.state.comments.get("#".join(match.groups()), []))
            self._send(200, found)
            return
        self._send(404, {"message": "Not Found"})

    def _write(self, what: str, apply: Any) -> None:
        """A write: maybe refused with a fault, else applied (and, for the time-out fault, answered too late)."""
        state, now = self.server.state, time.time()
        with state.lock:
            if any(now < not_before - 0.05 for _, not_before in state.waits):
                state.early += 1
            number = len(state.writes) + 1
            fault = state.fault_for(number)
            status = {"403-rate-limit": 403, "429-retry-after": 429, "502": 502}.get(fault or "", 0)
            state.writes.append((now, what, status or 200))
            if fault:
                state.faults[fault] += 1
            if fault == "403-rate-limit":
                reset = int(now) + 3
                state.waits.append((now, reset))
            elif fault == "429-retry-after":
                state.waits.append((now, now + 2))
            result = None if status else apply()
        if fault == "403-rate-limit":
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": "5000"}
            self._send(403, {"message": "API rate limit exceeded"}, headers)
        elif fault == "429-retry-after":
            self._send(429, {"message": "Too many requests"}, {"Retry-After": "2"})
        elif fault == "502":
            self._send(502, {"message": "Bad gateway"})
        else:
            if fault == "timeout-after-accepting":
                time.sleep(TIMEOUT + 1)
            self._send(*result)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        state = self.server.state
        if match := COMMENTS.match(path):
            key = "#".join(match.groups())

            def comment() -> tuple[int, Any]:
                made = {"id": 5_000_000 + sum(map(len, state.comments.values())), "body": body["body"]}
                state.comments.setdefault(key, []).append(made)
                return 201, made

            self._write(f"comment {key}", comment)
        elif match := LABELS.match(path):
            key = "#".join(match.groups()[:2])

            def add() -> tuple[int, Any]:
                names = body if isinstance(body, list) else body.get("labels", [])
                state.labels.setdefault(key, set()).update(names)
                return 200, [{"name": name} for name in sorted(state.labels[key])]

            self._write(f"add_label {key}", add)
        else:
            self._send(404, {"message": "Not Found"})

    def do_DELETE(self) -> None:
        match = LABELS.match(urlsplit(self.path).path)
        if not match or not match.group(3):
            self._send(404, {"message": "Not Found"})
            return
        key, name = "#".join(match.groups()[:2]), unquote(match.group(3))
        state = self.server.state

        def remove() -> tuple[int, Any]:
            if name not in state.labels.get(key, set()):
                return 404, {"message": "Label does not exist"}
            state.labels[key].discard(name)
            return 200, [{"name": label} for label in sorted(state.labels[key])]

        self._write(f"remove_label {key}", remove)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: StandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


def queue_actions(url: str, count: int) -> list[tuple[str, str, str]]:
    """`count` actions over a few issues: comments, and labels added then removed; returns (action, target, what)."""
    engine = make_engine(Settings(database_url=url))
    sessions = make_session_factory(engine)
    actions = []
    with sessions.begin() as session:
        for n in range(count):
            target = f"github:city-council/permits#{100 + n % 5}"
            kind = ("comment", "add_label", "comment")[n % 3]
            if kind == "comment":
                body: dict[str, Any] = {"text": f"Check-in prompt {n}: how did this sprint change transparency?"}
                what = body["text"]
            else:
                body = {"label": f"value:bench-{n}"}
                what = body["label"]
            enqueue(session, tracker="github", action=kind, target=target, body=body, cause=f"bench:{n}")
            actions.append((kind, target, what))
    engine.dispose()
    return actions


def settled(url: str, timeout: float) -> dict[str, int]:
    engine = create_engine(normalise_url(url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                counts = {
                    status: int(n)
                    for status, n in conn.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
                }
            if set(counts) <= {"sent", "dead", "skipped", "recorded"} or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbound", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--actions", type=int, default=None)
    parser.add_argument("--every", type=int, default=3, help="every n-th write meets a fault")
    args = parser.parse_args(argv)
    count = args.actions or (12 if args.quick else 40)
    state = StandIn(every=args.every)
    server = _Server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"bench.outbound: {count} GitHub actions (comments, labels) by 2 pvm workers on PostgreSQL against a stand-in "
        f"answering, one write in {args.every}, in turn: {', '.join(FAULTS)}; the bare route under wrk here: "
        f"{bare_ceiling(2):,.0f}/s",
        flush=True,
    )
    started = time.monotonic()
    try:
        with fleet.database("postgresql") as db:
            actions = queue_actions(db.url, count)
            env = db.env(
                PVM_GITHUB_TOKEN="ghp_bench",
                PVM_GITHUB_API_URL=f"http://127.0.0.1:{server.server_address[1]}",
                PVM_TRACKER_TIMEOUT=f"{TIMEOUT:g}",
                PVM_WORKER_LEASE="10",
            )
            workers = [fleet.worker(env, n, wait=True) for n in range(2)]
            try:
                counts = settled(db.url, timeout=120 if args.quick else 600)
            finally:
                for process in workers:
                    fleet.stop(process)
    finally:
        server.shutdown()
    seconds = time.monotonic() - started
    bodies = [c["body"] for cs in state.comments.values() for c in cs]
    wrong = []
    for kind, target, what in actions:
        key = target.split(":", 1)[1]
        found = sum(1 for body in bodies if what in body)
        if kind == "comment" and found != 1:
            wrong.append(f"{what!r}: {found} comments")
        if kind == "add_label" and what not in state.labels.get(key, set()):
            wrong.append(f"{what} missing on {key}")
    accepted = sorted(t for t, _, answer in state.writes if answer == 200)
    gaps = [b - a for a, b in itertools.pairwise(accepted)]
    tightest = min(gaps) if gaps else float("nan")
    ok = not wrong and counts == {"sent": count} and state.early == 0
    print(
        "\n| actions | writes seen | faults met | outbox after | not exactly once | writes before the asked time "
        "| closest writes | took |\n|---|---|---|---|---|---|---|---|"
    )
    print(
        f"| {count} | {len(state.writes)} | {dict(state.faults)} | {counts} | {len(wrong)} | {state.early} | "
        f"{tightest:.2f} s apart | {seconds:.0f} s |"
    )
    for line in wrong[:10]:
        print(f"  {line}")
    print(
        f"\nsummary: bench.outbound {'OK' if ok else 'FAILED'}: {count} actions, {sum(state.faults.values())} faults, "
        f"{len(wrong)} not delivered exactly once, {state.early} writes before Retry-After or the reset"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
