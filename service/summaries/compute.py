"""The sprint value summary of one iteration, computed from state and the value log.

Its cost grows with the iteration (its tickets, hypotheses, rounds and answers) and a bounded trend of earlier
iterations, never with the whole history: every query is narrowed by the iteration, its rounds or its subjects.
A closed iteration's summary changes afterwards only through logged events: hypotheses are shown as they stood at
the iteration's end (later changes in the log are undone), and late answers count but are marked late.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy
from service.storage.models import (
    CheckinAnswer,
    CheckinPrompt,
    CheckinRound,
    Hypothesis,
    Iteration,
    Label,
    Reading,
    Ticket,
    TicketIteration,
    ValueLogEntry,
)
from service.summaries import answers, measures
from service.summaries.model import (
    Alert,
    Change,
    DimensionWork,
    HypothesisSummary,
    IterationRef,
    MeasureProgress,
    ResponseRate,
    RiskRaised,
    Signal,
    Summary,
    TrendPoint,
    Work,
    WorseOff,
)
from service.summaries.model import Reading as ReadingShape
from service.valuelog.chain import format_at

# The default pack's thresholds for co-destruction (rules/packs/default.yaml, `co-destruction-alert`).
LOW_MEAN = -1.0
DROP = 1.0
TREND_LENGTH = 5  # earlier iterations shown beside this one
_CHANGE_KINDS = (Kind.HYPOTHESIS_UPDATED, Kind.HYPOTHESIS_RETIRED, Kind.EPIC_PHASE_CHANGED)
_SHOWN_FIELDS = ("status", "confidence", "phase")


class UnknownIteration(LookupError):
    pass


class UnknownFramework(LookupError):
    pass


def summarise(
    session: Session, taxonomy: Taxonomy, key: str, framework: str | None = None, now: datetime | None = None
) -> Summary:
    """The summary of iteration `key`; UnknownIteration / UnknownFramework name the valid choices."""
    iteration = session.get(Iteration, key)
    if iteration is None:
        raise UnknownIteration(f"no iteration {key!r}; {_known(session)}")
    if framework is not None and framework not in taxonomy.frameworks:
        known = ", ".join(sorted(taxonomy.frameworks))
        raise UnknownFramework(f"unknown framework {framework!r}; the taxonomy knows: {known}")
    moment = now or datetime.now(UTC)
    start, end = _window(iteration, moment)

    tickets = _tickets(session, key)
    work = _work(session, taxonomy, key, tickets, framework)
    epics = sorted({t.key for t in tickets if t.is_epic} | {t.epic_key for t in tickets if t.epic_key})
    rounds = list(
        session.execute(
            select(CheckinRound.id, CheckinRound.hypothesis_id)
            .where(CheckinRound.iteration_key == key)
            .order_by(CheckinRound.id)
        )
    )
    hypothesis_ids = {hypothesis for _, hypothesis in rounds}
    if epics:
        hypothesis_ids |= set(session.scalars(select(Hypothesis.id).where(Hypothesis.epic_key.in_(epics))))
    hypotheses = (
        list(session.scalars(select(Hypothesis).where(Hypothesis.id.in_(hypothesis_ids)).order_by(Hypothesis.id)))
        if hypothesis_ids
        else []
    )
    answered = answers.answered_in(session, iteration=key)
    asked = answers.asked_in(session, iteration=key)
    titles = _titles(session, {h.epic_key for h in hypotheses})
    history = _history(session, hypotheses, start)
    readings = _readings(session, [h.id for h in hypotheses], start, end)
    previous = _previous_means(session, key, sorted(hypothesis_ids))

    # Each hypothesis's rounds, answers and prompts, in their order, grouped once (not filtered per hypothesis).
    rounds_of: dict[int, list[int]] = defaultdict(list)
    answered_of: dict[int, list[answers.Answered]] = defaultdict(list)
    asked_of: dict[int, list[answers.Asked]] = defaultdict(list)
    for round_id, hypothesis_id in rounds:
        rounds_of[hypothesis_id].append(round_id)
    for answer in answered:
        answered_of[answer.hypothesis_id].append(answer)
    for prompt in asked:
        asked_of[prompt.hypothesis_id].append(prompt)
    shown = [
        _hypothesis(
            h, rounds_of[h.id], answered_of[h.id], asked_of[h.id], titles, history, readings.get(h.id, []), start, end
        )
        for h in hypotheses
    ]
    groups = answers.by_group(answered, asked)
    signals = _signals(shown, previous)
    worse_off = [
        WorseOff(hypothesis=a.hypothesis_id, group=a.group, score=a.score, text=a.worse_off, late=a.late)
        for a in answered
        if a.worse_off or (a.erased and a.score < 0)
    ]
    not_asked = sorted({group for h in shown for group in h.not_asked})
    not_answering = sorted({group for h in shown for group in h.not_answering} - {g.group for g in groups if g.answers})
    response = ResponseRate(asked=len(asked), answered=sum(p.answered for p in asked), rate=answers.rate(asked))
    summary = Summary(
        iteration=IterationRef(
            key=iteration.key,
            name=iteration.name or iteration.key,
            source=iteration.source,
            state=iteration.state,
            start_at=iteration.start_at,
            end_at=iteration.end_at,
        ),
        generated_at=moment,
        framework=framework,
        work=work,
        hypotheses=shown,
        groups=groups,
        not_asked=not_asked,
        not_answering=not_answering,
        divergence=answers.divergence(groups),
        signals=signals,
        worse_off=worse_off,
        erased_texts=sum(1 for a in answered if a.erased),
        alerts=_alerts(session, epics, key, start),
        trade_offs=[{"hypothesis": h.id, "epic": h.epic, "dimension": d} for h in shown for d in h.trade_offs],
        response=response,
        trend=[
            *_trend(session, iteration),
            TrendPoint(
                key=iteration.key,
                name=iteration.name or iteration.key,
                start_at=iteration.start_at,
                tickets=work.tickets,
                untagged_share=work.untagged_share,
                answers=len(answered),
                group_means={g.group: g.mean for g in groups if g.mean is not None},
                response_rate=response.rate,
            ),
        ],
        notes=[],
    )
    return summary.model_copy(update={"notes": _notes(summary)})


def _known(session: Session, shown: int = 10) -> str:
    """The latest iterations' keys, for an error message that names valid ones."""
    ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
    latest = list(session.scalars(select(Iteration.key).order_by(ordering.desc()).limit(shown + 1)))
    if not latest:
        return "no iteration is known yet: they arrive with the trackers' sprint and milestone webhooks"
    more = ", ..." if len(latest) > shown else ""
    return f"the latest known are: {', '.join(latest[:shown])}{more}"


def _window(iteration: Iteration, now: datetime) -> tuple[str, str]:
    """The iteration's time span as value-log timestamps (which sort as text): start to end, or to now if open."""
    start = iteration.start_at or iteration.created_at
    end = iteration.end_at if iteration.state == "closed" and iteration.end_at else now
    return format_at(start), format_at(max(start, end))


# Rows are read as plain columns, not ORM objects: a summary reads hundreds of them and only looks at them.
@dataclass(frozen=True)
class _Ticket:
    key: str
    title: str
    state: str
    is_epic: bool
    epic_key: str | None
    story_points: float | None


@dataclass(frozen=True)
class _Label:
    name: str
    dimension: str | None
    polarity: str | None


@dataclass(frozen=True)
class _Reading:
    hypothesis_id: int
    value: float
    date: date
    source: str | None


@dataclass(frozen=True)
class _Entry:
    seq: int
    at: str
    kind: str
    subject: str
    actor: str
    data: Any


def _in_iteration(key: str) -> Any:
    """Tickets in the iteration now (a ticket moved to another iteration before the end is not its work)."""
    return and_(TicketIteration.iteration_key == key, TicketIteration.left_at.is_(None))


def _tickets(session: Session, key: str) -> list[_Ticket]:
    rows = session.execute(
        select(Ticket.key, Ticket.title, Ticket.state, Ticket.is_epic, Ticket.epic_key, Ticket.story_points)
        .join(TicketIteration, TicketIteration.ticket_key == Ticket.key)
        .where(_in_iteration(key), Ticket.state != "deleted")
        .order_by(Ticket.key)
    )
    return [_Ticket(*row) for row in rows]


def _work(session: Session, taxonomy: Taxonomy, key: str, tickets: Sequence[_Ticket], framework: str | None) -> Work:
    labels: dict[str, list[_Label]] = defaultdict(list)
    for ticket_key, name, dimension, polarity in session.execute(
        select(Label.ticket_key, Label.name, Label.dimension, Label.polarity)
        .join(TicketIteration, TicketIteration.ticket_key == Label.ticket_key)
        .where(_in_iteration(key), Label.dimension.is_not(None))
    ):
        labels[ticket_key].append(_Label(name, dimension, polarity))
    per_dimension: dict[str, list[_Ticket]] = defaultdict(list)
    risks: list[RiskRaised] = []
    tagged = 0
    for ticket in tickets:
        values = sorted({str(label.dimension) for label in labels[ticket.key] if label.polarity == "value"})
        tagged += bool(values)
        for dimension in values:
            per_dimension[dimension].append(ticket)
        risks += [
            RiskRaised(ticket=ticket.key, title=ticket.title, dimension=label.dimension, label=label.name)
            for label in labels[ticket.key]
            if label.polarity == "value-risk"
        ]
    by_dimension = [
        DimensionWork(
            dimension=slug,
            name=taxonomy.dimensions[slug].name if slug in taxonomy.dimensions else slug,
            tickets=len(items),
            done=sum(t.state == "closed" for t in items),
            points=_points(items),
            done_points=_done_points(items),
        )
        for slug, items in sorted(per_dimension.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    by_category = (
        taxonomy.regroup({d.dimension: d.tickets for d in by_dimension}, framework) if framework is not None else None
    )
    return Work(
        tickets=len(tickets),
        done=sum(t.state == "closed" for t in tickets),
        points=_points(tickets),
        done_points=_done_points(tickets),
        tagged=tagged,
        untagged=len(tickets) - tagged,
        untagged_share=(len(tickets) - tagged) / len(tickets) if tickets else None,
        by_dimension=by_dimension,
        by_category=by_category,
        risks=risks,
    )


def _points(tickets: Iterable[_Ticket]) -> float | None:
    estimates = [t.story_points for t in tickets if t.story_points is not None]
    return float(sum(estimates)) if estimates else None


def _done_points(tickets: Sequence[_Ticket]) -> float | None:
    """Story points of the closed tickets: 0 when estimates exist but nothing estimated is done."""
    if _points(tickets) is None:
        return None
    return _points([t for t in tickets if t.state == "closed"]) or 0.0


def _titles(session: Session, epics: set[str]) -> dict[str, str]:
    if not epics:
        return {}
    return {key: title for key, title in session.execute(select(Ticket.key, Ticket.title).where(Ticket.key.in_(epics)))}


_ENTRY_COLUMNS = (
    ValueLogEntry.seq,
    ValueLogEntry.at,
    ValueLogEntry.kind,
    ValueLogEntry.subject,
    ValueLogEntry.actor,
    ValueLogEntry.data,
)


def _history(session: Session, hypotheses: Sequence[Hypothesis], start: str) -> dict[str, list[_Entry]]:
    """Status, confidence and phase changes of the hypotheses (and their epics) since the iteration started."""
    subjects = {f"hypothesis:{h.id}" for h in hypotheses} | {h.epic_key for h in hypotheses}
    found: dict[str, list[_Entry]] = defaultdict(list)
    for chunk in _chunks(sorted(subjects)):
        for row in session.execute(
            select(*_ENTRY_COLUMNS)
            .where(ValueLogEntry.subject.in_(chunk), ValueLogEntry.kind.in_(_CHANGE_KINDS), ValueLogEntry.at >= start)
            .order_by(ValueLogEntry.seq)
        ):
            entry = _Entry(*row)
            found[entry.subject].append(entry)
    return found


def _readings(session: Session, ids: Sequence[int], start: str, end: str) -> dict[int, list[_Reading]]:
    """Each hypothesis's latest reading before the iteration and those during it, oldest first: two queries whose
    cost follows the iteration, however long the measure's history."""
    found: dict[int, list[_Reading]] = defaultdict(list)
    first_day, last_day = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    columns = (Reading.hypothesis_id, Reading.value, Reading.date, Reading.source)
    for chunk in _chunks(list(ids)):
        latest_before = (
            select(Reading.hypothesis_id, func.max(Reading.date).label("day"))
            .where(Reading.hypothesis_id.in_(chunk), Reading.date < first_day)
            .group_by(Reading.hypothesis_id)
            .subquery()
        )
        before = session.execute(
            select(*columns)
            .join(
                latest_before,
                and_(latest_before.c.hypothesis_id == Reading.hypothesis_id, latest_before.c.day == Reading.date),
            )
            .order_by(Reading.hypothesis_id, Reading.id)
        )
        for row in before:
            found[row[0]] = [_Reading(*row)]  # the last of that day wins, as when ordered by (date, id)
        during = session.execute(
            select(*columns)
            .where(Reading.hypothesis_id.in_(chunk), Reading.date >= first_day, Reading.date <= last_day)
            .order_by(Reading.date, Reading.id)
        )
        for row in during:
            found[row[0]].append(_Reading(*row))
    return found


def _hypothesis(
    hypothesis: Hypothesis,
    rounds: Sequence[int],
    answered: Sequence[answers.Answered],
    asked: Sequence[answers.Asked],
    titles: dict[str, str],
    history: dict[str, list[_Entry]],
    readings: Sequence[_Reading],
    start: str,
    end: str,
) -> HypothesisSummary:
    """`rounds`, `answered` and `asked` are the hypothesis's own."""
    mine, my_answers, my_prompts = rounds, answered, asked
    groups = answers.by_group(my_answers, my_prompts)
    prompted = {p.group for p in my_prompts} | {a.group for a in my_answers}
    changes, undone = _changes(history, hypothesis, end)
    state = {name: getattr(hypothesis, name) for name in _SHOWN_FIELDS}
    for change in reversed(undone):  # back to where the hypothesis stood at the end of the iteration
        if change.field in state:
            state[change.field] = change.old
    return HypothesisSummary(
        id=hypothesis.id,
        epic=hypothesis.epic_key,
        epic_title=titles.get(hypothesis.epic_key, ""),
        statement=hypothesis.statement,
        dimensions=list(hypothesis.dimensions),
        stakeholders=list(hypothesis.stakeholders),
        phase=str(state["phase"]),
        status=str(state["status"]),
        confidence=state["confidence"],
        trade_offs=list(hypothesis.trade_offs),
        risks=list(hypothesis.risks),
        measure=_measure(hypothesis.measure, readings, start[:10]),
        changes=changes,
        rounds=list(mine),
        groups=groups,
        not_asked=sorted(set(hypothesis.stakeholders) - prompted),
        not_answering=sorted(g.group for g in groups if g.asked and not g.answers),
        divergence=answers.divergence(groups),
        response_rate=answers.rate(my_prompts),
    )


def _changes(history: dict[str, list[_Entry]], hypothesis: Hypothesis, end: str) -> tuple[list[Change], list[Change]]:
    """The shown fields' changes during the iteration, and those logged after its end (to be undone)."""
    during: list[Change] = []
    after: list[Change] = []
    entries = sorted(
        history.get(f"hypothesis:{hypothesis.id}", []) + history.get(hypothesis.epic_key, []), key=lambda e: e.seq
    )
    for entry in entries:
        data: dict[str, Any] = entry.data if isinstance(entry.data, dict) else {}
        for name, change in (data.get("changes") or {}).items():
            if name not in _SHOWN_FIELDS or not isinstance(change, dict):
                continue
            shown = Change(
                at=entry.at,
                kind=entry.kind,
                field=name,
                old=change.get("old"),
                new=change.get("new"),
                reason=data.get("reason"),
                actor=entry.actor,
            )
            (during if entry.at <= end else after).append(shown)
    return during, after


def _measure(measure: dict[str, Any] | None, readings: Sequence[_Reading], start_day: str) -> MeasureProgress | None:
    if not measure and not readings:
        return None
    measure = measure or {}
    baseline = measures.number((measure.get("baseline") or {}).get("value"))
    target_block = measure.get("target") or {}
    target = measures.number(target_block.get("value"))
    first_day = date.fromisoformat(start_day)
    before = [r for r in readings if r.date < first_day]
    during = [r for r in readings if r.date >= first_day]
    latest = readings[-1] if readings else None
    reference = before[-1].value if before else baseline
    if latest is None:
        movement = "no reading"
    elif target is None:
        movement = "no target"
    elif not during or reference is None or abs(target - latest.value) == abs(target - reference):
        movement = "unchanged"
    else:
        movement = (
            "toward the target" if abs(target - latest.value) < abs(target - reference) else "away from the target"
        )
    progress = None
    if latest is not None and baseline is not None and target is not None and target != baseline:
        progress = (latest.value - baseline) / (target - baseline)
    return MeasureProgress(
        name=measure.get("name"),
        baseline=baseline,
        target=target,
        target_date=measures.day(target_block.get("date")),
        before=_shape(before[-1]) if before else None,
        latest=_shape(latest) if latest else None,
        readings=[_shape(r) for r in during],
        movement=movement,
        progress=progress,
    )


def _shape(reading: _Reading) -> ReadingShape:
    return ReadingShape(value=reading.value, date=reading.date, source=reading.source)


def _previous_means(session: Session, key: str, hypotheses: Sequence[int]) -> dict[int, dict[str, float]]:
    """Per hypothesis, the group means of the latest earlier iteration with answers about it.

    Two queries for all the hypotheses (answers.previous_iteration and answers.group_means per hypothesis, batched).
    """
    current = session.get(Iteration, key)
    if current is None or not hypotheses:
        return {}
    ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
    current_at = current.start_at or current.created_at
    answered = select(CheckinAnswer.id).where(CheckinAnswer.round_id == CheckinRound.id).exists()
    latest: dict[int, tuple[Any, str]] = {}
    for chunk in _chunks(list(hypotheses)):
        for hypothesis, iteration, at in session.execute(
            select(CheckinRound.hypothesis_id, Iteration.key, ordering)
            .join(Iteration, Iteration.key == CheckinRound.iteration_key)
            .where(CheckinRound.hypothesis_id.in_(chunk), Iteration.key != key, ordering < current_at, answered)
            .distinct()
        ):
            if hypothesis not in latest or (at, iteration) > latest[hypothesis]:
                latest[hypothesis] = (at, iteration)
    found: dict[int, dict[str, float]] = {hypothesis: {} for hypothesis in latest}
    previous = {hypothesis: iteration for hypothesis, (_, iteration) in latest.items()}
    for chunk in _chunks(sorted(previous)):
        # PostgreSQL's avg() of integers is a Decimal, SQLite's a float: one type, as in answers.group_means.
        for hypothesis, iteration, group, mean in session.execute(
            select(
                CheckinRound.hypothesis_id,
                CheckinRound.iteration_key,
                CheckinAnswer.group,
                func.avg(CheckinAnswer.score),
            )
            .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
            .where(
                CheckinRound.hypothesis_id.in_(chunk),
                CheckinRound.iteration_key.in_(sorted({previous[h] for h in chunk})),
                CheckinAnswer.current.is_(True),
            )
            .group_by(CheckinRound.hypothesis_id, CheckinRound.iteration_key, CheckinAnswer.group)
        ):
            if previous[hypothesis] == iteration and mean is not None:
                found[hypothesis][group] = float(mean)
    return found


def _signals(hypotheses: Sequence[HypothesisSummary], previous: dict[int, dict[str, float]]) -> list[Signal]:
    signals = []
    for hypothesis in hypotheses:
        for group in hypothesis.groups:
            if group.mean is None:
                continue
            before = previous.get(hypothesis.id, {}).get(group.group)
            reasons = []
            if group.mean <= LOW_MEAN:
                reasons.append(f"mean {group.mean:.2f} is at or below {LOW_MEAN:g}")
            if before is not None and before - group.mean >= DROP:
                reasons.append(f"fell by {before - group.mean:.2f} since the previous iteration")
            if reasons:
                signals.append(
                    Signal(
                        hypothesis=hypothesis.id,
                        group=group.group,
                        mean=group.mean,
                        previous_mean=before,
                        reason="; ".join(reasons),
                    )
                )
    return signals


def _alerts(session: Session, epics: Sequence[str], key: str, start: str) -> list[Alert]:
    """Alerts the rules raised on the iteration's epics about this iteration (necessarily after it started)."""
    found = []
    for chunk in _chunks(list(epics)):
        for row in session.execute(
            select(*_ENTRY_COLUMNS)
            .where(ValueLogEntry.kind == Kind.VALUE_ALERT, ValueLogEntry.subject.in_(chunk), ValueLogEntry.at >= start)
            .order_by(ValueLogEntry.seq)
        ):
            entry = _Entry(*row)
            data = entry.data if isinstance(entry.data, dict) else {}
            if data.get("iteration") == key:
                found.append(
                    Alert(
                        type=str(data.get("type", "")),
                        epic=entry.subject,
                        at=entry.at,
                        rule=data.get("rule"),
                        text=str(data.get("text", "")),
                    )
                )
    return found


def _trend(session: Session, iteration: Iteration) -> list[TrendPoint]:
    """Up to TREND_LENGTH earlier iterations of the same board (or repository), oldest first."""
    prefix = iteration.key.rsplit("/", 1)[0] + "/"
    same_board = (
        Iteration.board == iteration.board if iteration.board else Iteration.key.startswith(prefix, autoescape=True)
    )
    ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
    earlier = list(
        session.scalars(
            select(Iteration)
            .where(
                same_board,
                Iteration.key != iteration.key,
                Iteration.state.in_(("active", "closed")),
                ordering < (iteration.start_at or iteration.created_at),
            )
            .order_by(ordering.desc())
            .limit(TREND_LENGTH)
        )
    )
    return _points_of(session, list(reversed(earlier)))


def _points_of(session: Session, iterations: Sequence[Iteration]) -> list[TrendPoint]:
    """The trend's figures for a few iterations, each an aggregate over all of them at once (a handful of queries,
    not a handful per iteration): tickets, tagged tickets, prompts asked and answered, answers and group means.
    Counted as the summary counts its own iteration: deleted tickets and those moved out are not its work."""
    if not iterations:
        return []
    keys = [item.key for item in iterations]
    tickets = dict(
        session.execute(
            select(TicketIteration.iteration_key, func.count())
            .join(Ticket, Ticket.key == TicketIteration.ticket_key)
            .where(
                TicketIteration.iteration_key.in_(keys), TicketIteration.left_at.is_(None), Ticket.state != "deleted"
            )
            .group_by(TicketIteration.iteration_key)
        ).all()  # a Result has keys(): dict() would take it for a mapping
    )
    tagged = dict(
        session.execute(
            select(TicketIteration.iteration_key, func.count(func.distinct(TicketIteration.ticket_key)))
            .join(Label, Label.ticket_key == TicketIteration.ticket_key)
            .join(Ticket, Ticket.key == TicketIteration.ticket_key)
            .where(
                TicketIteration.iteration_key.in_(keys),
                TicketIteration.left_at.is_(None),
                Ticket.state != "deleted",
                Label.polarity == "value",
                Label.dimension.is_not(None),
            )
            .group_by(TicketIteration.iteration_key)
        ).all()
    )
    asked: dict[str, tuple[int, int]] = {}
    counted: dict[str, int] = {}
    means: dict[str, dict[str, float]] = defaultdict(dict)
    # The rounds as a subquery rather than a list of ids: one short statement, whatever the number of rounds.
    round_ids = select(CheckinRound.id).where(CheckinRound.iteration_key.in_(keys))
    # An answer's prompt is one of its own round's prompts, so the answered prompts of all the rounds together
    # are those of each iteration's rounds (as answers.asked_in finds them per iteration).
    answered_prompts = select(CheckinAnswer.prompt_id).where(
        CheckinAnswer.round_id.in_(round_ids), CheckinAnswer.prompt_id.is_not(None)
    )
    done = CheckinPrompt.answered_at.is_not(None) | CheckinPrompt.id.in_(answered_prompts)
    for key, count, answered in session.execute(
        select(CheckinRound.iteration_key, func.count(), func.sum(case((done, 1), else_=0)))
        .join(CheckinRound, CheckinRound.id == CheckinPrompt.round_id)
        .where(CheckinRound.iteration_key.in_(keys))
        .group_by(CheckinRound.iteration_key)
    ):
        asked[key] = (int(count), int(answered or 0))
    for key, group, count, mean in session.execute(
        select(CheckinRound.iteration_key, CheckinAnswer.group, func.count(), func.avg(CheckinAnswer.score))
        .join(CheckinRound, CheckinRound.id == CheckinAnswer.round_id)
        .where(CheckinRound.iteration_key.in_(keys), CheckinAnswer.current.is_(True))
        .group_by(CheckinRound.iteration_key, CheckinAnswer.group)
    ):
        counted[key] = counted.get(key, 0) + int(count)
        if mean is not None:  # a float for both engines, as in answers.group_means
            means[key][group] = float(mean)
    points = []
    for item in iterations:
        total, answered = asked.get(item.key, (0, 0))
        count = tickets.get(item.key, 0)
        points.append(
            TrendPoint(
                key=item.key,
                name=item.name or item.key,
                start_at=item.start_at,
                tickets=count,
                untagged_share=(count - tagged.get(item.key, 0)) / count if count else None,
                answers=counted.get(item.key, 0),
                group_means=dict(sorted(means[item.key].items())),
                response_rate=answered / total if total else None,
            )
        )
    return points


def _notes(summary: Summary) -> list[str]:
    """What the numbers cannot say by themselves, in words."""
    notes = []
    if not summary.work.tickets:
        notes.append("No tickets were in this iteration.")
    elif not summary.work.tagged:
        notes.append("No ticket in this iteration carries a value label: the work is not tied to any value dimension.")
    if not summary.hypotheses:
        notes.append("No value hypothesis is in scope of this iteration.")
    if not summary.response.asked and not any(g.answers for g in summary.groups):
        notes.append("Nobody was asked in this iteration, and no answers were given.")
    elif not any(g.answers for g in summary.groups):
        notes.append("Nobody has answered yet.")
    if summary.not_asked:
        notes.append(f"Not asked: {', '.join(summary.not_asked)}.")
    if summary.not_answering:
        notes.append(f"Asked but not answering: {', '.join(summary.not_answering)}.")
    late = sum(g.late for g in summary.groups)
    if late:
        notes.append(f"{late} answer(s) came after their round closed; they count and are marked late.")
    if summary.erased_texts:
        notes.append(f"{summary.erased_texts} answer(s) lost their texts when the person asked to be erased.")
    return notes


def _chunks(items: list[str] | list[int], size: int = 500) -> Iterable[list[Any]]:
    """IN lists of bounded length: SQLite allows a limited number of parameters per statement."""
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]
