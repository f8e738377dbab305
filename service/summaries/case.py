"""The value case of an epic: its hypotheses from ex ante to ex post, as one shape for the web page and the API.

Everything comes from state and the value log, narrowed by the epic and its hypotheses, and each list is bounded
(the newest kept) so an epic with years of history still answers quickly; `notes` says when a list was cut.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.domain.kinds import Kind
from service.storage.models import CheckinRound, Epic, Hypothesis, Label, Ticket, ValueLogEntry
from service.storage.models import Reading as ReadingRow
from service.summaries import answers, formats, measures
from service.summaries.model import Alert, GroupAnswers, Reading

HISTORY_LIMIT = 500  # log entries about the epic and its hypotheses, newest kept
READINGS_LIMIT = 200  # per hypothesis, newest kept
ROUNDS_LIMIT = 50  # per hypothesis, newest kept
RISK_LABELS_LIMIT = 200
_HISTORY_KINDS = (
    Kind.HYPOTHESIS_CREATED,
    Kind.HYPOTHESIS_UPDATED,
    Kind.HYPOTHESIS_RETIRED,
    Kind.EPIC_PHASE_CHANGED,
    Kind.VALUE_ALERT,
)


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class StatusChange(Shape):
    at: str
    kind: str
    field: str  # "created" for a hypothesis stated, else the field that changed
    old: object
    new: object
    reason: str | None
    actor: str


class CaseMeasure(Shape):
    name: str | None
    baseline: float | None
    target: float | None
    target_date: date | None
    readings: list[Reading]  # oldest first
    progress: float | None  # share of the way from baseline to target the latest reading covers


class CaseRound(Shape):
    id: int
    iteration: str | None
    kind: str
    status: str
    opened_at: datetime
    groups: list[GroupAnswers]
    response_rate: float | None
    divergence: float | None
    unreachable_groups: list[str]


class CaseHypothesis(Shape):
    id: int
    statement: str
    dimensions: list[str]
    stakeholders: list[str]
    phase: str
    status: str
    confidence: str | None
    history: list[StatusChange]  # from its statement to now, oldest first
    measure: CaseMeasure | None
    rounds: list[CaseRound]  # oldest first
    trade_offs: list[str]
    risks: list[dict[str, object]]


class OpenRisk(Shape):
    source: str  # "hypothesis" (stated in it) | "label" (a value-risk label on a ticket of the epic)
    hypothesis: int | None
    ticket: str | None
    dimension: str | None
    text: str


class Case(Shape):
    epic: str
    title: str
    state: str
    phase: str
    url: str | None
    generated_at: datetime
    phase_changes: list[StatusChange]
    hypotheses: list[CaseHypothesis]
    alerts: list[Alert]  # co-destruction, divergence, ... newest first
    trade_offs: list[dict[str, object]]
    risks: list[OpenRisk]
    notes: list[str]


class UnknownEpic(LookupError):
    pass


def value_case(session: Session, key: str, now: datetime | None = None) -> Case:
    """The case of epic `key`; UnknownEpic says what to do when it is not known."""
    epic = session.get(Epic, key)
    if epic is None:
        raise UnknownEpic(
            f"epic {key!r} is not known yet: epics become known when their tracker sends a webhook for them"
        )
    notes: list[str] = []
    hypotheses = list(session.scalars(select(Hypothesis).where(Hypothesis.epic_key == key).order_by(Hypothesis.id)))
    subjects = {f"hypothesis:{h.id}": h.id for h in hypotheses}
    entries = list(
        session.scalars(
            select(ValueLogEntry)
            .where(
                or_(ValueLogEntry.subject == key, ValueLogEntry.subject.in_(list(subjects))),
                ValueLogEntry.kind.in_(_HISTORY_KINDS),
            )
            .order_by(ValueLogEntry.seq.desc())
            .limit(HISTORY_LIMIT + 1)
        )
    )
    if len(entries) > HISTORY_LIMIT:
        notes.append(f"Only the latest {HISTORY_LIMIT} status changes and alerts are shown; the value log has all.")
        entries = entries[:HISTORY_LIMIT]
    entries.reverse()
    history: dict[int, list[StatusChange]] = defaultdict(list)
    phase_changes: list[StatusChange] = []
    alerts: list[Alert] = []
    for entry in entries:
        if entry.kind == Kind.VALUE_ALERT:
            alerts.append(_alert(entry))
        elif entry.subject == key:
            phase_changes += _changes(entry)
        elif entry.subject in subjects:
            history[subjects[entry.subject]] += _changes(entry)
    alerts.reverse()

    shown = [_hypothesis(session, h, history.get(h.id, []), notes) for h in hypotheses]
    if not hypotheses:
        notes.append("No value hypothesis is stated on this epic yet: state one on the epic's page.")
    return Case(
        epic=key,
        title=epic.ticket.title,
        state=epic.ticket.state,
        phase=epic.phase,
        url=epic.ticket.url,
        generated_at=now or datetime.now(UTC),
        phase_changes=phase_changes,
        hypotheses=shown,
        alerts=alerts,
        trade_offs=[{"hypothesis": h.id, "dimension": d} for h in shown for d in h.trade_offs],
        risks=_risks(session, key, hypotheses),
        notes=notes,
    )


def _changes(entry: ValueLogEntry) -> list[StatusChange]:
    data: dict[str, Any] = entry.data if isinstance(entry.data, dict) else {}
    reason = data.get("reason")
    if entry.kind == Kind.HYPOTHESIS_CREATED:
        stated = data.get("new") if isinstance(data.get("new"), dict) else {}
        return [
            StatusChange(
                at=entry.at,
                kind=entry.kind,
                field="created",
                old=None,
                new=stated.get("status"),  # type: ignore[union-attr]
                reason=reason,
                actor=entry.actor,
            )
        ]
    return [
        StatusChange(
            at=entry.at,
            kind=entry.kind,
            field=name,
            old=change.get("old"),
            new=change.get("new"),
            reason=reason,
            actor=entry.actor,
        )
        for name, change in (data.get("changes") or {}).items()
        if isinstance(change, dict)
    ]


def _alert(entry: ValueLogEntry) -> Alert:
    data = entry.data if isinstance(entry.data, dict) else {}
    return Alert(
        type=str(data.get("type", "")),
        epic=entry.subject,
        at=entry.at,
        rule=data.get("rule"),
        text=str(data.get("text", "")),
    )


def _hypothesis(
    session: Session, hypothesis: Hypothesis, history: list[StatusChange], notes: list[str]
) -> CaseHypothesis:
    rounds = list(
        session.scalars(
            select(CheckinRound)
            .where(CheckinRound.hypothesis_id == hypothesis.id)
            .order_by(CheckinRound.opened_at.desc(), CheckinRound.id.desc())
            .limit(ROUNDS_LIMIT + 1)
        )
    )
    if len(rounds) > ROUNDS_LIMIT:
        notes.append(f"Hypothesis {hypothesis.id}: only its latest {ROUNDS_LIMIT} rounds are shown.")
        rounds = rounds[:ROUNDS_LIMIT]
    rounds.reverse()
    ids = [r.id for r in rounds]
    answered, asked = answers.answered_in(session, ids), answers.asked_in(session, ids)
    shown_rounds = []
    for round_ in rounds:
        mine = [a for a in answered if a.round_id == round_.id]
        prompts = [p for p in asked if p.round_id == round_.id]
        groups = answers.by_group(mine, prompts)
        shown_rounds.append(
            CaseRound(
                id=round_.id,
                iteration=round_.iteration_key,
                kind=round_.kind,
                status=round_.status,
                opened_at=round_.opened_at,
                groups=groups,
                response_rate=answers.rate(prompts),
                divergence=answers.divergence(groups),
                unreachable_groups=list(round_.unreachable_groups or []),
            )
        )
    return CaseHypothesis(
        id=hypothesis.id,
        statement=hypothesis.statement,
        dimensions=list(hypothesis.dimensions),
        stakeholders=list(hypothesis.stakeholders),
        phase=hypothesis.phase,
        status=hypothesis.status,
        confidence=hypothesis.confidence,
        history=history,
        measure=_measure(session, hypothesis, notes),
        rounds=shown_rounds,
        trade_offs=list(hypothesis.trade_offs),
        risks=list(hypothesis.risks),
    )


def _measure(session: Session, hypothesis: Hypothesis, notes: list[str]) -> CaseMeasure | None:
    rows = list(
        session.scalars(
            select(ReadingRow)
            .where(ReadingRow.hypothesis_id == hypothesis.id)
            .order_by(ReadingRow.date.desc(), ReadingRow.id.desc())
            .limit(READINGS_LIMIT + 1)
        )
    )
    if len(rows) > READINGS_LIMIT:
        notes.append(f"Hypothesis {hypothesis.id}: only its latest {READINGS_LIMIT} readings are shown.")
        rows = rows[:READINGS_LIMIT]
    rows.reverse()
    measure = hypothesis.measure or {}
    if not measure and not rows:
        return None
    baseline = measures.number((measure.get("baseline") or {}).get("value"))
    target_block = measure.get("target") or {}
    target = measures.number(target_block.get("value"))
    progress = None
    if rows and baseline is not None and target is not None and target != baseline:
        progress = (rows[-1].value - baseline) / (target - baseline)
    return CaseMeasure(
        name=measure.get("name"),
        baseline=baseline,
        target=target,
        target_date=measures.day(target_block.get("date")),
        readings=[Reading(value=r.value, date=r.date, source=r.source) for r in rows],
        progress=progress,
    )


def _risks(session: Session, key: str, hypotheses: list[Hypothesis]) -> list[OpenRisk]:
    """Risks stated in the live hypotheses, then value-risk labels on the epic and its open tickets."""
    found = [
        OpenRisk(
            source="hypothesis",
            hypothesis=h.id,
            ticket=None,
            dimension=str(risk.get("dimension")) if risk.get("dimension") else None,
            text=" · ".join(str(risk[name]) for name in ("description", "watch") if risk.get(name)),
        )
        for h in hypotheses
        if h.status != "retired"
        for risk in h.risks
        if isinstance(risk, dict)
    ]
    labels = session.execute(
        select(Label, Ticket.title)
        .join(Ticket, Ticket.key == Label.ticket_key)
        .where(
            or_(Ticket.key == key, Ticket.epic_key == key),
            Ticket.state != "deleted",
            Label.polarity == "value-risk",
        )
        .order_by(Label.ticket_key, Label.name)
        .limit(RISK_LABELS_LIMIT)
    )
    found += [
        OpenRisk(source="label", hypothesis=None, ticket=label.ticket_key, dimension=label.dimension, text=title)
        for label, title in labels
    ]
    return found


def to_markdown(case: Case) -> str:
    text = formats.markdown_templates().get_template("case.md").render(c=case)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
