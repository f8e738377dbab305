"""Check-in throughput: people asked (dry run) and answers recorded through the API, against plain inserts of the
same rows, measured in the same run.

    python -m bench.checkins              # 300 hypotheses, 10,000 prompts, 10,000 answers on SQLite (minutes)
    python -m bench.checkins --quick      # 30 hypotheses, 1,000 of each (about 30 s)
    python -m bench.checkins --postgres   # on a throw-away PostgreSQL database instead

Prompts: the clock's `rounds.run_due` asks everyone in 300 open rounds (an e-mail outbox row, a `checkin.prompted`
log entry and a prompt row per person, one transaction per round), then the dispatcher records every row
(PVM_OUTBOUND=record: nothing is sent). Answers: one `POST /api/v1/checkins/<round>/answers` per person (bearer
token, validation, the answer, its log entry with commitments, the rules over `checkin.answered`, one commit
each). The baseline writes the same rows with plain multi-row INSERTs in the same transactions (a round's rows in
one, an answer's rows in one), so the ratio is the cost of everything the service does beyond storing them.
Goal: service/plain >= 0.2 for both. Both sides meet the same machine: answers alternate in blocks of 50 (service,
then plain), and the plain asking runs just before and just after the service's, its mean the baseline.

Measured on a 2-CPU machine shared with other work (load average 4 to 14 while these ran); each line is one whole
run, and the plain rate itself moved by a factor of three between runs, with the machine's load and fsync waits:

    run                      prompts (service vs plain)   answers (service vs plain)
    before, --quick, SQLite    309/s vs 3342/s: 0.09          35/s vs  915/s: 0.04
    --quick, SQLite            824/s vs 3577/s: 0.23         103/s vs  548/s: 0.19
    --quick, SQLite (load 13)  277/s vs 1270/s: 0.22          56/s vs  282/s: 0.20
    full, SQLite              1146/s vs 5804/s: 0.20         118/s vs  284/s: 0.42
    full, SQLite (load 8)      288/s vs 3236/s: 0.09         101/s vs  662/s: 0.15
    --quick, PostgreSQL        426/s vs 1638/s: 0.26          58/s vs  183/s: 0.32
    full, PostgreSQL           455/s vs 2000/s: 0.23          42/s vs  142/s: 0.29
    full, PostgreSQL, again    405/s vs 1932/s: 0.21          45/s vs  128/s: 0.35

Where the time goes now (CPU per unit, profiled): an answer spends about a quarter in the rules (the two facts
queries and the rule's savepoint), a quarter recording it (three statements and the log entry), a sixth in the
token check that opens the transaction, and the rest in Flask, the commit and reading the round and the person;
asking spends a little under half in the clock's round (once-keys, three multi-row inserts, the log entries) and
the rest in the dry-run dispatch (loading the rows and what each message is made of, rendering, the ORM's updates).
The SQLite ratios sit at the goal, not above it: on a quiet machine the plain inserts are mostly fsync, the
service mostly CPU, so they move apart with the load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, select, text, update

from service.app import create_app
from service.checkins import rounds
from service.config import Settings
from service.outbox.dispatch import dispatch_due
from service.runtime import Runtime, runtime
from service.storage import migrate
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Epic,
    Hypothesis,
    HypothesisStakeholder,
    Iteration,
    OutboxItem,
    Stakeholder,
    Ticket,
    TicketIteration,
    ValueLogEntry,
)
from service.tokens import create as create_token

ADMIN_URL = os.environ.get("PVM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SPRINT = "github:bench/portal/milestone/1"
BLOCK = 50  # answers per alternating block (service, then plain)


def progress(label: str, done: int, total: int, started: float) -> None:
    if done == total or done % max(1, total // 10) == 0:
        rate = done / (time.perf_counter() - started)
        print(f"    {label}: {done}/{total} ({rate:.0f}/s)", flush=True)


def seed(rt: Runtime, hypotheses: int, people: int) -> list[int]:
    """Epics with an active hypothesis each in a running milestone, and `people` stakeholders (e-mail) spread over
    them; one open round per hypothesis. Plain inserts: seeding is not what is measured."""
    now = datetime.now(UTC)
    with rt.engine.begin() as conn:
        conn.execute(insert(Iteration), [{"key": SPRINT, "source": "github", "name": "Sprint 1", "state": "active"}])
        epics = [f"github:bench/portal#{n}" for n in range(1, hypotheses + 1)]
        conn.execute(
            insert(Ticket), [{"key": key, "source": "github", "title": f"Epic {key}", "is_epic": True} for key in epics]
        )
        conn.execute(insert(Epic), [{"key": key, "phase": "during"} for key in epics])
        conn.execute(
            insert(TicketIteration), [{"ticket_key": key, "iteration_key": SPRINT, "joined_at": now} for key in epics]
        )
        conn.execute(
            insert(Hypothesis),
            [
                {"epic_key": key, "statement": f"We believe change {n} helps", "dimensions": ["transparency"],
                 "stakeholders": ["citizen"], "status": "active", "phase": "during"}
                for n, key in enumerate(epics, start=1)
            ],
        )  # fmt: skip
        ids = list(conn.scalars(select(Hypothesis.id).order_by(Hypothesis.id)))
        conn.execute(
            insert(Stakeholder),
            [
                {"name": f"Citizen {n}", "group": "citizen", "email": f"c{n}@bench.example", "scope": []}
                for n in range(people)
            ],
        )
        stakeholders = list(conn.scalars(select(Stakeholder.id).order_by(Stakeholder.id)))
        conn.execute(
            insert(HypothesisStakeholder),
            [{"hypothesis_id": ids[n % len(ids)], "stakeholder_id": sid} for n, sid in enumerate(stakeholders)],
        )
        conn.execute(
            insert(CheckinRound),
            [
                {"hypothesis_id": h, "iteration_key": SPRINT, "kind": "iteration",
                 "unique_key": f"iteration:{SPRINT}:{h}", "status": "open", "opened_at": now,
                 "deadline": now + timedelta(days=10),
                 "remind_at": now + timedelta(days=5), "unreachable_groups": []}
                for h in ids
            ],
        )  # fmt: skip
    return ids


def prompts_through_the_service(rt: Runtime) -> tuple[int, float]:
    started = time.perf_counter()
    tally = rounds.run_due(rt)
    print(f"    asked {tally.prompted} people in {time.perf_counter() - started:.1f} s; recording the outbox ...")
    total = recorded = tally.prompted
    while recorded and (done := dispatch_due(rt)):
        recorded -= min(done, recorded)
        progress("recorded", total - recorded, total, started)
    return tally.prompted, time.perf_counter() - started


def prompts_plain(engine: Engine) -> tuple[int, float]:
    """The rows asking writes (a prompt, an outbox row, a log entry per person), one transaction per round."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        assigned = list(conn.execute(select(HypothesisStakeholder.hypothesis_id, HypothesisStakeholder.stakeholder_id)))
        round_of = {
            hypothesis: round_id
            for hypothesis, round_id in conn.execute(select(CheckinRound.hypothesis_id, CheckinRound.id))
        }
    by_round: dict[int, list[int]] = {}
    for hypothesis_id, stakeholder_id in assigned:
        by_round.setdefault(round_of[hypothesis_id], []).append(stakeholder_id)
    started, seq = time.perf_counter(), 1
    for round_id, people in sorted(by_round.items()):
        with engine.begin() as conn:
            conn.execute(
                insert(CheckinPrompt.__table__),
                [{"round_id": round_id, "stakeholder_id": sid, "group": "citizen", "channel": "email",
                  "nonce": uuid.uuid4().hex + uuid.uuid4().hex} for sid in people],
            )  # fmt: skip
            conn.execute(
                insert(OutboxItem.__table__),
                [{"tracker": "email", "action": "checkin_prompt", "target": f"prompt:{sid}", "body": {"prompt": sid},
                  "status": "recorded", "attempts": 1, "maybe_sent": False, "created_at": now,
                  "next_attempt_at": now} for sid in people],
            )  # fmt: skip
            conn.execute(insert(ValueLogEntry.__table__), [_log_row(seq + n) for n in range(len(people))])
        seq += len(people)
    return seq - 1, time.perf_counter() - started


def _log_row(seq: int) -> dict[str, object]:
    data = {"round": 1, "hypothesis": 1, "stakeholder": seq, "group": "citizen", "channel": "email",
            "contact": "hmac-sha256:" + "0" * 64}  # fmt: skip
    return {"seq": seq, "at": "2026-12-02T00:00:00.000000Z", "actor": "clock", "source": "clock",
            "kind": "checkin.prompted", "subject": "checkin-round:1", "data": data, "prev_hash": f"{seq - 1:064x}",
            "hash": f"{seq:064x}", "canonical": b"{}" * 40}  # fmt: skip


def answers_interleaved(app: object, rt: Runtime, token: str, plain: Engine) -> tuple[int, float, float]:
    """Answers through the API and the plain inserts of the same rows, in alternating blocks of BLOCK, so both
    meet the same machine: a load that comes and goes during the run moves both rates, not their ratio.
    Returns how many answers each side wrote and the seconds each spent."""
    with rt.transaction() as session:
        who = list(
            session.execute(select(CheckinPrompt.round_id, CheckinPrompt.stakeholder_id).order_by(CheckinPrompt.id))
        )
    client = app.test_client()  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {token}"}
    service_seconds = plain_seconds = 0.0
    started = time.perf_counter()
    for first in range(0, len(who), BLOCK):
        block = who[first : first + BLOCK]
        clock = time.perf_counter()
        for n, (round_id, stakeholder_id) in enumerate(block, start=first + 1):
            body = {"stakeholder_id": stakeholder_id, "score": (n % 5) - 2, "text": f"what I saw, {n}"}
            answer = client.post(f"/api/v1/checkins/{round_id}/answers", json=body, headers=headers)
            if answer.status_code != 201:
                raise SystemExit(
                    f"bench.checkins: answer {n} got {answer.status_code}: {answer.get_data(as_text=True)}"
                )
        service_seconds += time.perf_counter() - clock
        clock = time.perf_counter()
        answers_plain(plain, range(first + 1, first + len(block) + 1))
        plain_seconds += time.perf_counter() - clock
        progress("answered (service, then plain)", first + len(block), len(who), started)
    return len(who), service_seconds, plain_seconds


def answers_plain(engine: Engine, numbers: range) -> None:
    """The rows an answer writes (the answer, its log entry, the prompt marked), one transaction per answer."""
    now = datetime.now(UTC)
    for n in numbers:
        with engine.begin() as conn:
            conn.execute(
                insert(CheckinAnswer.__table__),
                [{"round_id": 1, "group": "citizen", "score": 1, "text": f"what I saw, {n}", "channel": "api",
                  "actor": "token:bench", "current": True, "late": False, "created_at": now}],
            )  # fmt: skip
            conn.execute(insert(ValueLogEntry.__table__), [_log_row(10**7 + n)])
            conn.execute(update(CheckinPrompt.__table__).where(CheckinPrompt.id == n).values(answered_at=now))


def plain_database(settings: Settings, url: str, hypotheses: int, people: int) -> Engine:
    """A database with the service's schema and the same seed, written to with plain inserts only."""
    rt = runtime(create_app(settings.with_overrides(database_url=url)))
    migrate.upgrade(rt.engine)
    seed(rt, hypotheses, people)
    return rt.engine


def database(kind: str, folder: Path, name: str) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{name}.sqlite3'}", lambda: None
    database_name = f"pvm_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database_name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)'))
        admin.dispose()

    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{database_name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.checkins", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--postgres", action="store_true", help="on a throw-away PostgreSQL database")
    options = parser.parse_args()
    hypotheses, people = (30, 1_000) if options.quick else (300, 10_000)
    kind = "postgresql" if options.postgres else "sqlite"
    folder = Path(tempfile.mkdtemp(prefix="pvm-bench-checkins-"))
    service_url, drop_service = database(kind, folder, "service")
    plain_url, drop_plain = database(kind, folder, "plain")
    again_url, drop_again = database(kind, folder, "plain_again")
    print(f"bench.checkins: {hypotheses} hypotheses, {people} people, {kind}; dry run (PVM_OUTBOUND=record)")
    try:
        settings = Settings(
            instance_dir=folder, database_url=service_url, env="test", secret_key="bench", outbound="record"
        )
        app = create_app(settings)
        rt = runtime(app)
        migrate.upgrade(rt.engine)
        seed(rt, hypotheses, people)
        with rt.transaction() as session:
            token = create_token(session, name="bench", role="team", actor="bench")

        plain_engine = plain_database(settings, plain_url, hypotheses, people)
        again_engine = plain_database(settings, again_url, hypotheses, people)

        # Asking is one pass of the clock, too coarse to cut into blocks: the plain inserts run just before and just
        # after it, on two copies, and the baseline is their mean, so a load that rises or falls meets both sides.
        print("  asking (plain inserts, before) ...")
        base_asked, before_seconds = prompts_plain(plain_engine)
        print("  asking (the service) ...")
        asked, asked_seconds = prompts_through_the_service(rt)
        print("  asking (plain inserts, after) ...")
        _, after_seconds = prompts_plain(again_engine)
        base_asked_seconds = (before_seconds + after_seconds) / 2
        print(f"  answering (the API and plain inserts, alternating blocks of {BLOCK}) ...")
        answered, answered_seconds, base_answered_seconds = answers_interleaved(app, rt, token, plain_engine)
        base_answered = answered

        for label, (n, s), (bn, bs) in (
            ("prompts", (asked, asked_seconds), (base_asked, base_asked_seconds)),
            ("answers", (answered, answered_seconds), (base_answered, base_answered_seconds)),
        ):
            rate, base = n / s, bn / bs
            ratio = rate / base
            print(f"  {label}: {rate:7.0f}/s through the service vs {base:7.0f}/s plain: {ratio:.2f} (goal >= 0.2)")
        rt.engine.dispose()
        plain_engine.dispose()
        again_engine.dispose()
    finally:
        drop_service()
        drop_plain()
        drop_again()


if __name__ == "__main__":
    main()
