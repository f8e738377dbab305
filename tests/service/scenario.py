"""Building realistic state for rule tests directly with the models: tickets, epics, sprints, hypotheses, check-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.domain.events import Event
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Epic,
    Hypothesis,
    Iteration,
    Label,
    Ticket,
    TicketIteration,
)

T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # a Monday: sprint 1 starts
SPRINT = timedelta(days=14)


def epic(session: Session, key: str, title: str = "Publish refusal rules") -> Ticket:
    ticket = Ticket(key=key, source=key.split(":")[0], title=title, is_epic=True, issue_type="Epic")
    session.add_all([ticket, Epic(key=key)])
    session.flush()
    return ticket


def ticket(session: Session, key: str, epic_key: str | None = None, labels: list[str] | None = None) -> Ticket:
    row = Ticket(key=key, source=key.split(":")[0], title=f"Work item {key}", epic_key=epic_key)
    session.add(row)
    session.flush()
    for name in labels or []:
        label(session, key, name)
    return row


def label(session: Session, ticket_key: str, name: str) -> None:
    polarity, _, dimension = name.partition(":")
    session.add(Label(ticket_key=ticket_key, name=name, dimension=dimension or None, polarity=polarity))
    session.flush()


def sprint(session: Session, key: str, number: int, state: str = "active", name: str | None = None) -> Iteration:
    start = T0 + SPRINT * (number - 1)
    row = Iteration(
        key=key,
        source=key.split(":")[0],
        name=name or f"Sprint {number}",
        state=state,
        start_at=start,
        end_at=start + SPRINT,
    )
    session.add(row)
    session.flush()
    return row


def join(session: Session, ticket_key: str, iteration_key: str) -> None:
    session.add(TicketIteration(ticket_key=ticket_key, iteration_key=iteration_key))
    session.flush()


def hypothesis(session: Session, epic_key: str, status: str = "active", owner: str | None = "service-owner") -> int:
    row = Hypothesis(
        epic_key=epic_key,
        statement="We believe publishing the refusal rules for applicants will result in fewer appeals",
        dimensions=["transparency", "trust-legitimacy"],
        stakeholders=["citizen", "civil-servant"],
        owner=owner,
        status=status,
    )
    session.add(row)
    session.flush()
    return row.id


def round_(
    session: Session,
    hypothesis_id: int,
    iteration_key: str | None,
    opened_at: datetime = T0,
    deadline: timedelta = timedelta(days=10),
    kind: str = "iteration",
) -> CheckinRound:
    row = CheckinRound(
        hypothesis_id=hypothesis_id,
        iteration_key=iteration_key,
        kind=kind,
        unique_key=f"{kind}:{iteration_key}:{hypothesis_id}",
        opened_at=opened_at,
        deadline=opened_at + deadline,
    )
    session.add(row)
    session.flush()
    return row


def answers(session: Session, round_id: int, group: str, *scores: int) -> None:
    for score in scores:
        session.add(CheckinAnswer(round_id=round_id, group=group, score=score, actor=f"{group}-member", channel="link"))
    session.flush()


def prompts(session: Session, round_id: int, group: str, sent: int, answered: int) -> None:
    for i in range(sent):
        session.add(
            CheckinPrompt(
                round_id=round_id,
                group=group,
                channel="link",
                nonce=f"n-{round_id}-{group}-{i}",
                sent_at=T0,
                answered_at=T0 + timedelta(days=1) if i < answered else None,
            )
        )
    session.flush()


def event(kind: str, subject: str, source: str = "jira", actor: str = "alice", **data: Any) -> Event:
    return Event(kind=kind, source=source, subject=subject, actor=actor, occurred_at=T0, data=data)
