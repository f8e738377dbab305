"""Sprint value summary: one iteration's summary against a plain SQL aggregate over the same tables, measured in
the same run, plus the HTML page and the first against the 50th iteration.

    python -m bench.summary              # 10,000 tickets, 300 hypotheses, 30,000 answers; SQLite and PostgreSQL
    python -m bench.summary --quick      # a fifth of the rows, SQLite only (about 30 s)
    python -m bench.summary --postgres   # PostgreSQL (a throw-away database) as well, also with --quick

The organisation: a Jira board (two-week sprints with story points) and a GitHub repository (milestones, no
estimates) running side by side for 25 iterations each, 50 in all, the 50th still open. Each iteration has the
same number of tickets (some carried over from the one before), about 70 % tagged with value labels and a few
with value-risk labels; epics with two hypotheses each (measures and readings), a tenth of them living through
every iteration of their board, the rest through about four; a check-in round per hypothesis in scope per
iteration, prompts and answers (some replaced, some late, some worse-off texts, a few people erased); and the
value log: prompted/answered entries, hypothesis and epic-phase changes, value.alert entries. Seeding uses plain
multi-row inserts and is not measured.

Measured (median of repetitions, warm, a fresh session each): `summarise()` of the 50th iteration against the
aggregates a hand-written report would run for the same figures (tickets, done and points per value dimension
and in all, answers per group and per hypothesis and group with count and mean, prompts asked and answered per
group); the HTML page through the API (`GET /api/v1/iterations/<key>/summary?format=html`, bearer token); and
`summarise()` of the first iteration against the 50th. Goals: summary <= 3x the SQL baseline; the 50th iteration
costs no more than the first (the cost follows the iteration's size, not the history before it).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, case, func, insert, select, text
from sqlalchemy.orm import Session

from bench.checkins import database
from service.app import create_app
from service.config import Settings
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.hypotheses.vocabulary import current_taxonomy
from service.runtime import runtime
from service.storage import migrate
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Epic,
    Hypothesis,
    Iteration,
    Label,
    Reading,
    Stakeholder,
    Ticket,
    TicketIteration,
    ValueLogEntry,
)
from service.summaries.compute import summarise
from service.tokens import create as create_token
from service.valuelog.chain import format_at

ITERATIONS_PER_BOARD = 25
SPRINT = timedelta(days=14)
DIMENSIONS = ("service-quality", "accessibility-inclusion", "efficiency", "outcomes", "transparency",
              "participation", "trust-legitimacy", "privacy-security", "capability")  # fmt: skip
GROUPS = ("citizen", "citizen", "citizen", "user", "civil-servant", "civil-servant", "it-developer")
POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)


@dataclass(frozen=True)
class Size:
    tickets: int  # over all iterations
    hypotheses: int  # over both boards
    answers: int  # over all rounds (about 5 % of them replaced by a later answer)
    people: int
    repetitions: int

    @property
    def iterations(self) -> int:
        return 2 * ITERATIONS_PER_BOARD


FULL = Size(tickets=10_000, hypotheses=300, answers=30_000, people=1_000, repetitions=15)
QUICK = Size(tickets=2_000, hypotheses=60, answers=6_000, people=200, repetitions=7)


@dataclass(frozen=True)
class Board:
    name: str
    source: str
    board: str | None
    estimates: bool

    def iteration(self, number: int) -> str:
        return f"jira:sprint/{100 + number}" if self.source == "jira" else f"github:bench/portal/milestone/{number}"

    def ticket(self, number: int) -> str:
        return f"jira:PRM-{number}" if self.source == "jira" else f"github:bench/portal#{number}"


BOARDS = (Board("Sprint", "jira", "7", True), Board("Milestone", "github", None, False))


def progress(label: str, started: float) -> None:
    print(f"    {label} ({time.perf_counter() - started:.1f} s)", flush=True)


def seed(engine: Engine, size: Size) -> list[str]:
    """The organisation described above; returns the iteration keys in time order (the 50th last)."""
    rng = random.Random(9)
    now = datetime.now(UTC).replace(microsecond=0)
    first_start = now - SPRINT * ITERATIONS_PER_BOARD + timedelta(days=3)
    iterations: list[dict[str, Any]] = []
    for number in range(1, ITERATIONS_PER_BOARD + 1):
        for offset, board in enumerate(BOARDS):
            start = first_start + SPRINT * (number - 1) + timedelta(days=offset)
            iterations.append(
                {"key": board.iteration(number), "source": board.source, "name": f"{board.name} {number}",
                 "board": board.board, "start_at": start, "end_at": start + SPRINT, "state": "closed",
                 "created_at": start - timedelta(days=2)}
            )  # fmt: skip
    iterations[-1]["state"] = "active"
    keys = [row["key"] for row in iterations]

    per_board = size.hypotheses // len(BOARDS)
    long_lived = max(2, per_board // 10)  # a tenth of the hypotheses live through every iteration
    short = per_board - long_lived  # the others through about four
    rounds_per_iteration = max(long_lived + 2, long_lived + short * 4 // ITERATIONS_PER_BOARD)
    tickets_per_iteration = size.tickets // size.iterations
    answers_per_round = max(2, round(size.answers / (size.iterations * rounds_per_iteration)))
    prompts_per_round = answers_per_round * 5 // 4

    epics: list[dict[str, Any]] = []
    hypotheses: list[dict[str, Any]] = []
    ticket_rows: list[dict[str, Any]] = []
    label_rows: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    in_scope: dict[str, list[int]] = {}  # iteration -> hypothesis numbers (1-based, global) with a round
    hypothesis_epic: dict[int, str] = {}
    for b, board in enumerate(BOARDS):
        for e in range(per_board // 2):
            key = board.ticket(e + 1)
            epics.append({"key": key, "phase": "during"})
            ticket_rows.append({"key": key, "source": board.source, "title": f"Epic {e + 1} of the permit service",
                                "is_epic": True, "state": "open", "epic_key": None, "story_points": None,
                                "created_at": first_start})  # fmt: skip
            for h in range(2):
                number = b * per_board + 2 * e + h + 1
                hypothesis_epic[number] = key
                groups = (
                    ["citizen", "civil-servant"] + (["it-developer"] if h else []) + (["policy-owner"] * (e % 5 == 0))
                )
                measure = (
                    {"name": f"measure {number}", "baseline": {"value": 0.5, "date": "2026-01-01"},
                     "target": {"value": 0.2 + 0.6 * (number % 2), "date": "2027-06-30"}}
                    if number % 5 else None
                )  # fmt: skip
                hypotheses.append(
                    {"id": number, "epic_key": key, "statement": f"We believe change {number} will help",
                     "dimensions": [DIMENSIONS[number % len(DIMENSIONS)]], "stakeholders": groups,
                     "measure": measure, "status": "active", "phase": "during", "confidence": "medium",
                     "trade_offs": [DIMENSIONS[(number + 3) % len(DIMENSIONS)]] if number % 7 == 0 else [],
                     "risks": [], "created_at": first_start}
                )  # fmt: skip
        ticket_number = 1_000
        previous: list[dict[str, Any]] = []
        for n in range(1, ITERATIONS_PER_BOARD + 1):
            key, index = board.iteration(n), 2 * (n - 1) + b
            closed = iterations[index]["state"] == "closed"
            start = iterations[index]["start_at"]
            scope = list(range(1, long_lived + 1))
            scope += [long_lived + 1 + (5 * (n - 1) + k) % short for k in range(rounds_per_iteration - long_lived)]
            numbers = [b * per_board + s for s in scope]
            in_scope[key] = numbers
            current = []
            carried = previous[: tickets_per_iteration // 10]  # unfinished: moved on before the end
            for row in carried:
                row["left_at"] = start
                current.append(
                    {"ticket_key": row["ticket_key"], "iteration_key": key, "joined_at": start, "left_at": None}
                )
            while len(current) < tickets_per_iteration + len(carried):
                ticket_number += 1
                ticket_key = board.ticket(ticket_number)
                done = rng.random() < (0.75 if closed else 0.3)
                ticket_rows.append(
                    {"key": ticket_key, "source": board.source, "title": f"Work item {ticket_number}",
                     "is_epic": False, "state": "deleted" if rng.random() < 0.01 else "closed" if done else "open",
                     "epic_key": hypothesis_epic[rng.choice(numbers)] if rng.random() < 0.8 else None,
                     "story_points": rng.choice(POINTS) if board.estimates and rng.random() < 0.85 else None,
                     "created_at": start}
                )  # fmt: skip
                current.append({"ticket_key": ticket_key, "iteration_key": key, "joined_at": start, "left_at": None})
                if rng.random() < 0.7:
                    for dimension in rng.sample(DIMENSIONS, rng.choice((1, 1, 2))):
                        label_rows.append({"ticket_key": ticket_key, "name": f"value:{dimension}",
                                           "dimension": dimension, "polarity": "value", "added_at": start})  # fmt: skip
                if rng.random() < 0.04:
                    dimension = rng.choice(DIMENSIONS)
                    label_rows.append({"ticket_key": ticket_key, "name": f"value-risk:{dimension}",
                                       "dimension": dimension, "polarity": "value-risk",
                                       "added_at": start})  # fmt: skip
                if rng.random() < 0.3:
                    label_rows.append({"ticket_key": ticket_key, "name": rng.choice(("bug", "frontend", "api")),
                                       "dimension": None, "polarity": None, "added_at": start})  # fmt: skip
            memberships += current
            previous = current[len(carried) :]  # carry fresh tickets, not the same ones again

    people: list[dict[str, Any]] = [
        {"id": n, "name": f"Person {n}", "group": GROUPS[n % len(GROUPS)], "email": f"p{n}@bench.example",
         "scope": [], "erased_at": first_start if n % 50 == 0 else None, "created_at": first_start}
        for n in range(1, size.people + 1)
    ]  # fmt: skip
    by_group: dict[str, list[int]] = {}
    for row in people:
        by_group.setdefault(row["group"], []).append(row["id"])

    rounds: list[dict[str, Any]] = []
    prompts: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    window = {row["key"]: row for row in iterations}
    for key in keys:
        start, end = window[key]["start_at"], window[key]["end_at"]
        closed = window[key]["state"] == "closed"
        for number in in_scope[key]:
            round_id = len(rounds) + 1
            rounds.append(
                {"id": round_id, "hypothesis_id": number, "iteration_key": key, "kind": "iteration",
                 "unique_key": f"iteration:{key}:{number}", "status": "closed" if closed else "open",
                 "opened_at": start + timedelta(days=1), "deadline": end, "remind_at": end - timedelta(days=4),
                 "closed_at": end if closed else None, "unreachable_groups": []}
            )  # fmt: skip
            groups = [g for g in hypotheses[number - 1]["stakeholders"] if g != "policy-owner"]
            asked = rng.sample([p for g in groups for p in by_group.get(g, [])], prompts_per_round)
            for n, person in enumerate(asked):
                prompt_id = len(prompts) + 1
                answers_now = n < answers_per_round - 1  # the first person answers twice
                at = start + timedelta(days=2, hours=n)
                prompts.append(
                    {"id": prompt_id, "round_id": round_id, "stakeholder_id": person,
                     "group": people[person - 1]["group"], "channel": "email", "nonce": uuid.uuid4().hex,
                     "sent_at": at, "answered_at": at + timedelta(hours=5) if answers_now else None}
                )  # fmt: skip
                log.append(
                    _entry(at, "clock", Kind.CHECKIN_PROMPTED, f"checkin-round:{round_id}", {"stakeholder": person})
                )
                if not answers_now:
                    continue
                for replaced in (True, False) if n == 0 else (False,):
                    score = rng.choice((-2, -1, 0, 0, 1, 1, 1, 2, 2))
                    late = closed and not replaced and rng.random() < 0.05
                    moment = end + timedelta(days=1) if late else at + timedelta(hours=5 - 2 * replaced)
                    answer_rows.append(
                        {"round_id": round_id, "prompt_id": prompt_id, "stakeholder_id": person,
                         "group": people[person - 1]["group"], "score": score, "text": f"what I saw {prompt_id}",
                         "worse_off": "those without a bank account" if score == -2 and rng.random() < 0.3 else None,
                         "channel": "email", "actor": f"stakeholder:{person}", "current": not replaced, "late": late,
                         "created_at": moment}
                    )  # fmt: skip
                    log.append(_entry(moment, "stakeholder", Kind.CHECKIN_ANSWERED, f"checkin-round:{round_id}",
                                      {"score": score, "group": people[person - 1]["group"]}))  # fmt: skip
            if hypotheses[number - 1]["measure"]:
                readings.append({"hypothesis_id": number, "value": round(rng.uniform(0.1, 0.6), 3),
                                 "date": (start + timedelta(days=7)).date(), "source": "case system",
                                 "actor": "bench", "created_at": start + timedelta(days=7)})  # fmt: skip
            if rng.random() < 0.2:
                old, new = rng.sample(("low", "medium", "high"), 2)
                change = {"changes": {"confidence": {"old": old, "new": new}}, "reason": "readings"}
                log.append(_entry(start + timedelta(days=5), "team", Kind.HYPOTHESIS_UPDATED, f"hypothesis:{number}",
                                  change))  # fmt: skip
        epic_keys = sorted({hypothesis_epic[n] for n in in_scope[key]})
        for epic in epic_keys[:2]:
            log.append(_entry(start + timedelta(days=3), "rules", Kind.VALUE_ALERT, epic,
                              {"iteration": key, "type": "co-destruction", "rule": "co-destruction-alert",
                               "text": "citizens' mean fell"}))  # fmt: skip
        log.append(_entry(start + timedelta(hours=2), "team", Kind.EPIC_PHASE_CHANGED, epic_keys[-1],
                          {"changes": {"phase": {"old": "ex-ante", "new": "during"}}}))  # fmt: skip
    log.sort(key=lambda row: row["at"])
    for seq, row in enumerate(log, start=1):
        row.update(seq=seq, prev_hash=f"{seq - 1:064x}", hash=f"{seq:064x}")

    started = time.perf_counter()
    with engine.begin() as conn:
        for model, rows in (
            (Iteration, iterations), (Ticket, ticket_rows), (Epic, epics), (Hypothesis, hypotheses),
            (Label, label_rows), (TicketIteration, memberships), (Stakeholder, people), (CheckinRound, rounds),
            (CheckinPrompt, prompts), (CheckinAnswer, answer_rows), (Reading, readings), (ValueLogEntry, log),
        ):  # fmt: skip
            for offset in range(0, len(rows), 2_000):
                conn.execute(insert(model), rows[offset : offset + 2_000])
        if engine.dialect.name == "postgresql":  # the ids were given: move the sequences past them
            for table in ("hypotheses", "stakeholders", "checkin_rounds", "checkin_prompts"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
    progress(
        f"seeded {len(iterations)} iterations, {len(ticket_rows)} tickets, {len(hypotheses)} hypotheses, "
        f"{len(rounds)} rounds, {len(prompts)} prompts, {len(answer_rows)} answers, {len(log)} log entries",
        started,
    )
    return keys


def _entry(at: datetime, source: str, kind: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"at": format_at(at), "actor": source, "source": source, "kind": kind, "subject": subject, "data": data,
            "canonical": b"{}"}  # fmt: skip


def baseline(session: Session, key: str) -> list[Any]:
    """The plain aggregates a hand-written report would run for the summary's figures."""
    member = (
        select(Ticket.key, Ticket.state, Ticket.story_points)
        .join(TicketIteration, TicketIteration.ticket_key == Ticket.key)
        .where(TicketIteration.iteration_key == key, TicketIteration.left_at.is_(None), Ticket.state != "deleted")
        .subquery()
    )
    closed = member.c.state == "closed"
    totals = select(
        func.count(), func.sum(case((closed, 1), else_=0)), func.sum(member.c.story_points),
        func.sum(case((closed, member.c.story_points), else_=None)),
    )  # fmt: skip
    dimensions = (
        select(
            Label.dimension, func.count(), func.sum(case((closed, 1), else_=0)), func.sum(member.c.story_points),
            func.sum(case((closed, member.c.story_points), else_=None)),
        )
        .join(Label, Label.ticket_key == member.c.key)
        .where(Label.polarity == "value", Label.dimension.is_not(None))
        .group_by(Label.dimension)
    )  # fmt: skip
    answered = (
        select(CheckinRound.hypothesis_id, CheckinAnswer.group, func.count(), func.avg(CheckinAnswer.score))
        .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
        .where(CheckinRound.iteration_key == key, CheckinAnswer.current.is_(True))
        .group_by(CheckinRound.hypothesis_id, CheckinAnswer.group)
    )
    groups = (
        select(CheckinAnswer.group, func.count(), func.avg(CheckinAnswer.score))
        .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
        .where(CheckinRound.iteration_key == key, CheckinAnswer.current.is_(True))
        .group_by(CheckinAnswer.group)
    )
    prompts = (
        select(CheckinPrompt.group, func.count(), func.count(CheckinPrompt.answered_at))
        .join(CheckinRound, CheckinRound.id == CheckinPrompt.round_id)
        .where(CheckinRound.iteration_key == key)
        .group_by(CheckinPrompt.group)
    )
    return [
        session.execute(query).all() for query in (totals.select_from(member), dimensions, answered, groups, prompts)
    ]


def medians_ms(actions: dict[str, Callable[[], object]], repetitions: int) -> dict[str, float]:
    """Each action's median, the actions taken in turn within each repetition: on a busy machine a burst of load
    then weighs on all of them alike instead of on whichever was being measured."""
    for action in actions.values():
        action()  # warm
    times: dict[str, list[float]] = {label: [] for label in actions}
    for _ in range(repetitions):
        for label, action in actions.items():
            started = time.perf_counter()
            action()
            times[label].append(time.perf_counter() - started)
    return {label: statistics.median(spent) * 1000 for label, spent in times.items()}


def measure(
    app: Flask, engine: Engine, taxonomy: Taxonomy, keys: Sequence[str], token: str, n: int
) -> dict[str, float]:
    first, last = keys[0], keys[-1]

    def summary_of(key: str) -> Callable[[], object]:
        def run() -> object:
            with Session(engine) as session:
                return summarise(session, taxonomy, key)

        return run

    def plain() -> object:
        with Session(engine) as session:
            return baseline(session, last)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def page() -> object:
        answer = client.get(f"/api/v1/iterations/{last}/summary?format=html", headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"bench.summary: the page got {answer.status_code}: {answer.get_data(as_text=True)}")
        return answer

    shown: Any = summary_of(last)()
    empty = [
        name for name in ("hypotheses", "groups", "alerts", "worse_off", "signals", "trend") if not getattr(shown, name)
    ]
    if not shown.work.tickets or not shown.work.risks or empty:
        raise SystemExit(f"bench.summary: the seed left parts of the summary empty: {empty}")
    # The first iteration has no earlier ones, so no trend: the 6th of the last one's board is the first with the
    # whole trend (five earlier iterations), and shows whether the cost keeps growing with history after that.
    same_board = [key for key in keys if key.rsplit("/", 1)[0] == last.rsplit("/", 1)[0]]
    sixth = same_board[min(5, len(same_board) - 1)]
    actions = {"baseline": plain, "summary": summary_of(last), "page": page, "first": summary_of(first),
               "sixth": summary_of(sixth)}  # fmt: skip
    figures = medians_ms(actions, n)
    figures["last"] = figures["summary"]
    for label, value in figures.items():
        print(f"    {label}: {value:.1f} ms", flush=True)
    return figures


def run(kind: str, size: Size) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="pvm-bench-summary-"))
    url, drop = database(kind, folder, "summary")  # a throw-away PostgreSQL database, as bench.checkins makes
    print(f"  {kind}:")
    try:
        settings = Settings(instance_dir=folder, database_url=url, env="test", secret_key="bench", outbound="record")
        app = create_app(settings)
        rt = runtime(app)
        migrate.upgrade(rt.engine)
        keys = seed(rt.engine, size)
        with rt.transaction() as session:
            token = create_token(session, name="bench", role="auditor", actor="bench")
        with app.app_context():
            taxonomy = current_taxonomy()
        figures = measure(app, rt.engine, taxonomy, keys, token, size.repetitions)
        rt.engine.dispose()
        return figures
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.summary", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the rows, SQLite only unless --postgres")
    parser.add_argument("--postgres", action="store_true", help="on a throw-away PostgreSQL database as well")
    options = parser.parse_args()
    size = QUICK if options.quick else FULL
    kinds = ["sqlite"] + (["postgresql"] if options.postgres or not options.quick else [])
    print(
        f"bench.summary: {size.tickets} tickets, {size.iterations} iterations, {size.hypotheses} hypotheses, "
        f"about {size.answers} answers; median of {size.repetitions} warm runs; {', '.join(kinds)}"
    )
    results = {kind: run(kind, size) for kind in kinds}
    print()
    print("| engine | SQL baseline | summary | summary/baseline (goal <= 3) | HTML page | 1st iteration | "
          "50th iteration | 50th/1st (goal <= 1) | 6th of its board | 50th/6th |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for kind, f in results.items():
        ratio, growth, after = f["summary"] / f["baseline"], f["last"] / f["first"], f["last"] / f["sixth"]
        print(f"| {kind} | {f['baseline']:.1f} ms | {f['summary']:.1f} ms | {ratio:.2f} | {f['page']:.1f} ms | "
              f"{f['first']:.1f} ms | {f['last']:.1f} ms | {growth:.2f} | "
              f"{f['sixth']:.1f} ms | {after:.2f} |")  # fmt: skip
        verdicts.append(f"{kind} {ratio:.2f}x the SQL, 50th/1st {growth:.2f}, 50th/6th {after:.2f}")
    print()
    print(f"bench.summary: {'; '.join(verdicts)} (goals <= 3 and <= 1)")


if __name__ == "__main__":
    main()
