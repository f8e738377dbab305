"""One payload through the whole flow (signed POST, inbox, worker), and what it left behind: outcome, state, log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from service.runtime import runtime
from service.storage.models import Delivery, Epic, Iteration, Label, Ticket, TicketIteration, Tracker, ValueLogEntry
from tests import deliveries
from tests.conftest import FIXTURES


@dataclass(frozen=True)
class Case:
    """A payload as a tracker sends it; `id` says where it comes from (`own/issues__opened`, `octokit/ping[0]`)."""

    id: str
    event: str
    body: bytes


def own(tracker: str) -> list[Case]:
    """The project's own fixtures of the tracker (tests/fixtures/<tracker>/*.json)."""
    return [
        Case(f"own/{name}", deliveries.event_of(tracker, name), deliveries.fixture_path(tracker, name).read_bytes())
        for name in deliveries.fixture_names(tracker)
    ]


def zulip(tracker: str) -> list[Case]:
    """Zulip's captured fixtures of the tracker, sent with the event its README derives from each file."""
    return [
        Case(f"zulip/{path.stem}", deliveries.event_of(tracker, path.stem), path.read_bytes())
        for path in sorted((FIXTURES / tracker / "zulip").glob("*.json"))
    ]


def octokit() -> list[Case]:
    """Every example body of @octokit/webhooks-examples; the event is the `name` of the entry that holds it."""
    index = json.loads((FIXTURES / "github" / "octokit" / "index.json").read_bytes())
    return [
        Case(f"octokit/{entry['name']}[{number}]", entry["name"], json.dumps(example).encode())
        for entry in index
        for number, example in enumerate(entry["examples"])
    ]


@dataclass(frozen=True)
class Outcome:
    """The webhook's answer and, for a stored delivery, where the worker left it."""

    code: int
    answer: dict[str, Any]
    status: str | None
    error: str | None


def deliver(app: Flask, tracker: str, case: Case) -> Outcome:
    """Post the payload signed to /webhooks/<tracker>, then run the worker until the inbox is empty."""
    response = deliveries.send(app.test_client(), tracker, case.event, case.body)
    answer = response.json if isinstance(response.json, dict) else {}
    if response.status_code != 202:
        return Outcome(response.status_code, answer, None, None)
    deliveries.drain(app)
    with runtime(app).transaction() as session:
        row = session.get(Delivery, answer["id"])
        assert row is not None, answer
        return Outcome(response.status_code, answer, row.status, row.error)


def stored_deliveries(app: Flask) -> int:
    with runtime(app).transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)


def state(app: Flask, tracker: str) -> dict[str, Any]:
    """Everything a delivery can change, in plain values that compare (and diff) readably in an assertion.

    `log` holds the kinds the tracker's own events logged, in order; the rules' reactions (`rule.fired`, alerts,
    rounds), logged with source `rules`, are left to the rules' tests so a new rule does not break these.
    """
    with runtime(app).transaction() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.key)))
        labels: dict[str, list[str]] = {}
        for label in session.scalars(select(Label).order_by(Label.ticket_key, Label.name)):
            labels.setdefault(label.ticket_key, []).append(label.name)
        epics = {
            epic.key: sorted(ticket.key for ticket in tickets if ticket.epic_key == epic.key)
            for epic in session.scalars(select(Epic).order_by(Epic.key))
        }
        memberships = {
            (link.ticket_key, link.iteration_key): "in" if link.left_at is None else "left"
            for link in session.scalars(select(TicketIteration))
        }
        return {
            "tickets": {ticket.key: ticket.state for ticket in tickets},
            "labels": labels,
            "epics": epics,
            "iterations": {key: state for key, state in session.execute(select(Iteration.key, Iteration.state))},
            "memberships": memberships,
            "trackers": sorted(session.scalars(select(Tracker.name))),
            "log": list(
                session.scalars(
                    select(ValueLogEntry.kind).where(ValueLogEntry.source == tracker).order_by(ValueLogEntry.seq)
                )
            ),
        }


NOTHING: dict[str, Any] = {
    "tickets": {},
    "labels": {},
    "epics": {},
    "iterations": {},
    "memberships": {},
    "trackers": [],
    "log": [],
}


def observed(app: Flask, tracker: str, expected: dict[str, Any]) -> dict[str, Any]:
    """The parts of the state that `expected` names, so `observed(...) == expected` shows only what differs."""
    found = state(app, tracker)
    return {name: found[name] for name in expected}


def check(
    app: Flask, tracker: str, case: Case, expected: Mapping[str, dict[str, Any]], refused: Mapping[str, str]
) -> None:
    """One payload through the flow, held to what the tracker's test expects of it.

    Refused payloads get a 400 with exactly the message in `refused` and store nothing. Every other one ends
    processed, or ignored with a reason and nothing changed; never failed or dead. `expected` may add the state
    it leaves (the parts named, see `state`), or `ignored`: a part of the reason.
    """
    outcome = deliver(app, tracker, case)
    if case.id in refused:
        assert (outcome.code, outcome.answer.get("error")) == (400, refused[case.id])
        assert stored_deliveries(app) == 0
        return
    assert outcome.code == 202, (case.id, outcome.code, outcome.answer)
    assert outcome.status in ("processed", "ignored"), (case.id, outcome.status, outcome.error)
    wanted = dict(expected.get(case.id, {}))
    if outcome.status == "ignored":
        assert outcome.error, f"{case.id} ignored without a reason"
        assert outcome.answer["status"] == "ignored"  # intake knew it, and said so in its answer
        assert state(app, tracker) == NOTHING
        assert wanted.pop("ignored", "") in outcome.error
        assert wanted == {}, f"{case.id} was ignored ({outcome.error}), but state was expected"
        return
    assert outcome.error is None
    assert "ignored" not in wanted, f"{case.id} was processed, but expected to be ignored"
    assert observed(app, tracker, wanted) == wanted


def send_all(app: Flask, tracker: str, cases: list[Case]) -> None:
    """Several payloads in order, as a tracker would send them about one ticket; each must be processed."""
    for case in cases:
        outcome = deliver(app, tracker, case)
        assert outcome.status == "processed", (case.id, outcome)
