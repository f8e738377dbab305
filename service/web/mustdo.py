"""The product owner's "must do" list: what needs a person's attention now, each item linking to where to act.

Every query is bounded (SHOWN items, and a count of all where a count is one cheap query), so a large organisation's
dashboard costs the same as a small one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.kinds import Kind
from service.storage.models import (
    CheckinPrompt,
    CheckinRound,
    Delivery,
    Epic,
    Hypothesis,
    Iteration,
    Label,
    OutboxItem,
    Ticket,
    TicketIteration,
    ValueLogEntry,
)
from service.summaries import answers

SHOWN = 10
SCANNED = 200  # rounds and hypotheses looked at for the checks that need Python, newest first
# The default pack's thresholds (rules/packs/default.yaml, `low-response-reminder`): past half the round's time,
# under half answered.
LOW_RESPONSE = 0.5


@dataclass(frozen=True)
class Item:
    text: str
    href: str | None  # None: nothing here to open (a ticket of no epic); the text says where to act


@dataclass
class Section:
    title: str
    explains: str
    total: int = 0
    items: list[Item] = field(default_factory=list)


def must_do(session: Session, now: datetime | None = None) -> list[Section]:
    moment = now or datetime.now(UTC)
    return [
        _epics_without_hypothesis(session),
        _low_response(session, moment),
        _never_asked(session),
        _alerts(session),
        _unknown_labels(session),
        _dead_outbox(session),
        _failed_deliveries(session),
    ]


def _epics_without_hypothesis(session: Session) -> Section:
    section = Section(
        "Epics in progress without an active hypothesis",
        "Open epics with work in an active iteration: state a hypothesis, or make one active.",
    )
    in_active = (
        select(Ticket.epic_key)
        .join(TicketIteration, TicketIteration.ticket_key == Ticket.key)
        .join(Iteration, Iteration.key == TicketIteration.iteration_key)
        .where(Iteration.state == "active", TicketIteration.left_at.is_(None), Ticket.epic_key.is_not(None))
    )
    active = select(Hypothesis.epic_key).where(Hypothesis.status == "active")
    query = (
        select(Epic.key, Ticket.title)
        .join(Ticket, Ticket.key == Epic.key)
        .where(Ticket.state == "open", Epic.key.in_(in_active), Epic.key.not_in(active))
    )
    section.total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    section.items = [
        Item(f"{key} {title}", url_for("web.epic", key=key))
        for key, title in session.execute(query.order_by(Epic.key).limit(SHOWN))
    ]
    return section


def _low_response(session: Session, now: datetime) -> Section:
    section = Section(
        "Rounds with low response",
        f"Open rounds past half their time with under {LOW_RESPONSE:.0%} answered: remind people or ask others.",
    )
    rounds = list(
        session.scalars(
            select(CheckinRound)
            .where(CheckinRound.status == "open", CheckinRound.deadline.is_not(None))
            .order_by(CheckinRound.deadline)
            .limit(SCANNED)
        )
    )
    halfway = [r for r in rounds if r.deadline and r.opened_at + (r.deadline - r.opened_at) / 2 <= now]
    asked = answers.asked_in(session, [r.id for r in halfway])
    for round_ in halfway:
        rate = answers.rate([p for p in asked if p.round_id == round_.id])
        if rate is not None and rate < LOW_RESPONSE:
            section.items.append(
                Item(
                    f"Round {round_.id} (hypothesis {round_.hypothesis_id}): {rate:.0%} answered",
                    url_for("rounds.round_page", round_id=round_.id),
                )
            )
    section.total = len(section.items)
    section.items = section.items[:SHOWN]
    return section


def _never_asked(session: Session) -> Section:
    section = Section(
        "Groups never asked",
        "Groups a hypothesis names that nobody was ever asked of: add stakeholders of that group.",
    )
    hypotheses = list(
        session.scalars(
            select(Hypothesis).where(Hypothesis.status != "retired").order_by(Hypothesis.id.desc()).limit(SCANNED)
        )
    )
    prompted: dict[int, set[str]] = {}
    if hypotheses:
        for hypothesis_id, group in session.execute(
            select(CheckinRound.hypothesis_id, CheckinPrompt.group)
            .join(CheckinPrompt, CheckinPrompt.round_id == CheckinRound.id)
            .where(CheckinRound.hypothesis_id.in_([h.id for h in hypotheses]))
            .distinct()
        ):
            prompted.setdefault(hypothesis_id, set()).add(group)
    for hypothesis in hypotheses:
        missing = sorted(set(hypothesis.stakeholders) - prompted.get(hypothesis.id, set()))
        if missing:
            section.items.append(
                Item(
                    f"Hypothesis {hypothesis.id} on {hypothesis.epic_key}: {', '.join(missing)}",
                    url_for("web.epic", key=hypothesis.epic_key),
                )
            )
    for round_ in session.scalars(
        select(CheckinRound).where(CheckinRound.status == "open").order_by(CheckinRound.id.desc()).limit(SCANNED)
    ):
        if round_.unreachable_groups:
            section.items.append(
                Item(
                    f"Round {round_.id}: nobody to ask in {', '.join(round_.unreachable_groups)}",
                    url_for("rounds.round_page", round_id=round_.id),
                )
            )
    section.total = len(section.items)
    section.items = section.items[:SHOWN]
    return section


def _alerts(session: Session) -> Section:
    section = Section(
        "Co-destruction and divergence alerts", "Alerts the rules raised on epics, newest first: read the case."
    )
    where = ValueLogEntry.kind == Kind.VALUE_ALERT
    section.total = session.scalar(select(func.count()).select_from(ValueLogEntry).where(where)) or 0
    for entry in session.scalars(select(ValueLogEntry).where(where).order_by(ValueLogEntry.seq.desc()).limit(SHOWN)):
        data = entry.data if isinstance(entry.data, dict) else {}
        section.items.append(
            Item(
                f"{entry.at[:10]} {data.get('type', 'alert')} on {entry.subject}",
                url_for("dashboard.case", key=entry.subject),
            )
        )
    return section


def _unknown_labels(session: Session) -> Section:
    section = Section(
        "Unknown value labels",
        "Labels that name no dimension of the taxonomy: fix the label in the tracker or add the dimension.",
    )
    where = (Label.dimension.is_(None), Label.polarity.in_(("value", "value-risk")))
    section.total = session.scalar(select(func.count()).select_from(Label).where(*where)) or 0
    for label, epic_key in session.execute(
        select(Label, Ticket.epic_key)
        .join(Ticket, Ticket.key == Label.ticket_key)
        .where(*where)
        .order_by(Label.added_at.desc())
        .limit(SHOWN)
    ):
        # A ticket of no epic has no page here: the label is fixed in the tracker, where the text points.
        href = url_for("web.epic", key=epic_key) if epic_key else None
        section.items.append(Item(f"{label.name} on {label.ticket_key}", href))
    return section


def _dead_outbox(session: Session) -> Section:
    section = Section(
        "Dead-lettered actions",
        "Actions on trackers or channels that gave up: fix the cause, then `pvm outbox retry <id>`.",
    )
    where = OutboxItem.status == "dead"
    section.total = session.scalar(select(func.count()).select_from(OutboxItem).where(where)) or 0
    section.items = [
        Item(f"#{item.id} {item.action} on {item.target}", f"/api/v1/outbox/{item.id}")
        for item in session.scalars(select(OutboxItem).where(where).order_by(OutboxItem.id.desc()).limit(SHOWN))
    ]
    return section


def _failed_deliveries(session: Session) -> Section:
    section = Section(
        "Failed webhook deliveries",
        "Received webhooks that could not be processed: read the error, then replay the delivery.",
    )
    where = Delivery.status.in_(("failed", "dead"))
    section.total = session.scalar(select(func.count()).select_from(Delivery).where(where)) or 0
    section.items = [
        Item(f"#{row.id} {row.source} {row.event} ({row.status})", f"/api/v1/deliveries/{row.id}")
        for row in session.scalars(select(Delivery).where(where).order_by(Delivery.id.desc()).limit(SHOWN))
    ]
    return section
