"""Test helper: a check-in round with one prompt per person, made directly with the models, and their link paths."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from service.checkins import links
from service.runtime import runtime
from service.storage.models import CheckinPrompt, CheckinRound, Epic, Hypothesis, Iteration, Stakeholder
from tests.epics import add_epic

EPIC = "jira:BEN-12"
EPIC_TITLE = "Antragsstatus online einsehen"
STATEMENT = "We believe showing applicants the status of their application online will result in fewer calls"
ITERATION = "jira:sprint/37"


@dataclass(frozen=True)
class Asked:
    name: str | None  # None: a prompt whose stakeholder row is gone
    group: str = "citizen"
    channel: str = "link"
    email: str | None = None


@dataclass(frozen=True)
class Round:
    id: int
    hypothesis_id: int
    prompt_ids: list[int]
    stakeholder_ids: list[int | None]


def open_round(
    session: Session,
    people: list[Asked],
    *,
    owner: str | None = None,
    deadline: datetime | None = None,
    status: str = "open",
    groups: tuple[str, ...] = ("citizen", "civil-servant"),
) -> Round:
    if session.get(Epic, EPIC) is None:
        add_epic(session, EPIC, title=EPIC_TITLE)
    if session.get(Iteration, ITERATION) is None:
        session.add(Iteration(key=ITERATION, source="jira", name="Sprint 37", state="active"))
    hypothesis = Hypothesis(
        epic_key=EPIC, statement=STATEMENT, dimensions=["service-quality"], stakeholders=list(groups), owner=owner
    )
    session.add(hypothesis)
    session.flush()
    round_ = CheckinRound(
        hypothesis_id=hypothesis.id,
        iteration_key=ITERATION,
        unique_key=f"test:{hypothesis.id}",
        status=status,
        deadline=deadline if deadline is not None else datetime.now(UTC) + timedelta(days=7),
    )
    session.add(round_)
    session.flush()
    prompts, ids = [], []
    for asked in people:
        person = None
        if asked.name is not None:
            person = Stakeholder(name=asked.name, group=asked.group, email=asked.email)
            session.add(person)
            session.flush()
        prompt = CheckinPrompt(
            round_id=round_.id,
            stakeholder_id=person.id if person else None,
            group=asked.group,
            channel=asked.channel,
            nonce=secrets.token_urlsafe(32),
        )
        session.add(prompt)
        session.flush()
        prompts.append(prompt.id)
        ids.append(person.id if person else None)
    return Round(round_.id, hypothesis.id, prompts, ids)


def answer_path(app: Flask, prompt_id: int) -> str:
    """The path of the prompt's personal link, /answer/<token>."""
    with runtime(app).transaction() as session:
        prompt = session.get(CheckinPrompt, prompt_id)
        assert prompt is not None
        return f"/answer/{links.token(runtime(app).settings, prompt)}"
