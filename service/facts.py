"""The facts rules ask about, answered with SQL over the current state, from the point of view of one event."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session

from rules.facts import split_parameter
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.taxonomy import Taxonomy, ValueLabel
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
from service.summaries import answers

# "Active" in the framework's sense: a hypothesis still being pursued (DESIGN.md statuses).
ACTIVE_STATUSES = ("proposed", "active")
_MEMBERSHIP_KINDS = (Kind.ITERATION_JOINED, Kind.ITERATION_LEFT)


# The statements asked on every answer (the rules over `checkin.answered`), built once with their parameters.
class UnknownFact(KeyError):
    pass


class SqlFacts:
    """Implements `rules.facts.Facts`. Answers are cached for the event, so a fact used twice costs one query."""

    def __init__(self, session: Session, event: Event, now: datetime, taxonomy: Taxonomy) -> None:
        self.session = session
        self.event = event
        self.now = now
        self.taxonomy = taxonomy
        self._cache: dict[str, Any] = {}
        self._answers: dict[str, Callable[[], Any]] = {
            "ticket.is_epic": self._is_epic,
            "ticket.state": lambda: _attr(self._ticket(), "state"),
            "epic.key": self._epic_key,
            "epic.title": self._epic_title,
            "epic.active_hypotheses": lambda: len(self.get("epic.active_hypothesis_ids")),
            "epic.has_active_hypothesis": lambda: bool(self.get("epic.active_hypothesis_ids")),
            "epic.hypotheses": self._epic_hypothesis_count,
            "epic.active_hypothesis_ids": self._epic_active_hypothesis_ids,
            "label.in_taxonomy": lambda: _attr(self._label(), "dimension") is not None,
            "label.is_value_label": lambda: self._label() is not None,
            "label.polarity": lambda: _attr(self._label(), "polarity"),
            "label.dimension": lambda: _attr(self._label(), "dimension"),
            "iteration.key": self._iteration_key,
            "iteration.name": self._iteration_name,
            "iteration.epics": self._iteration_epics,
            "iteration.state": lambda: _attr(self._iteration(), "state"),
            "iteration.active_hypothesis_ids": self._iteration_active_hypothesis_ids,
            "iteration.hypotheses_without_round": self._hypotheses_without_round,
            "iteration.epics_without_active_hypothesis": self._epics_without_hypothesis,
            "iteration.group_means": lambda: self._group_means(self.get("iteration.key"), self._answer_scope()),
            "iteration.min_group_mean": lambda: min(self.get("iteration.group_means").values(), default=None),
            "iteration.min_group": lambda: _arg(self.get("iteration.group_means"), min),
            "iteration.max_drop": lambda: max(self._drops().values(), default=None),
            "iteration.max_drop_group": lambda: _arg(self._drops(), max),
            "iteration.divergence": self._divergence,
            "iteration.touched_dimensions": lambda: sorted(self._touched(self.get("iteration.key"))),
            "iteration.touched_dimensions_streak": lambda: self._streak()[0],
            "iteration.only_dimension": lambda: self._streak()[1],
            "round.id": lambda: _attr(self._round(), "id"),
            "round.status": lambda: _attr(self._round(), "status"),
            "round.kind": lambda: _attr(self._round(), "kind"),
            "round.response_rate": self._response_rate,
            "round.elapsed": self._elapsed,
            "hypothesis.id": lambda: _attr(self._hypothesis(), "id"),
            "hypothesis.owner": lambda: _attr(self._hypothesis(), "owner"),
            "hypothesis.statement": lambda: _attr(self._hypothesis(), "statement"),
            "hypothesis.epic": lambda: _attr(self._hypothesis(), "epic_key"),
        }
        self._parametric: dict[str, Callable[[str], Any]] = {
            "iteration.answer_mean": lambda group: self.get("iteration.group_means").get(group),
            "iteration.answer_mean_drop": lambda group: self._drops().get(group),
        }

    def get(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def _compute(self, name: str) -> Any:
        if name in self._answers:
            return self._answers[name]()
        found = split_parameter(name)
        if found is None or found[1] is None or found[0].name not in self._parametric:
            raise UnknownFact(f"no fact called {name!r}")
        return self._parametric[found[0].name](found[1])

    # --- what the event is about ---------------------------------------------------------------------------

    def _rows(self, statement: Executable, parameters: dict[str, Any]) -> Sequence[Any]:
        """Rows of a column query, run on the connection: the ORM's per-statement work buys nothing for plain
        values. Flushed first, as the session's autoflush would, so the facts see this transaction's changes."""
        if self.session.autoflush:
            self.session.flush()
        return self.session.connection().execute(statement, parameters).all()

    def _memo(self, name: str, compute: Callable[[], Any]) -> Any:
        key = f"_{name}"
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _ticket(self) -> Ticket | None:
        return self._memo("ticket", lambda: self.session.get(Ticket, self.event.subject))

    def _is_epic(self) -> bool:
        stated = self.event.data.states_epic()
        if stated is not None:  # the event's own word: the ticket row may not be written yet
            return stated
        ticket = self._ticket()
        return bool(ticket and ticket.is_epic)

    def _label(self) -> ValueLabel | None:
        name = self.event.data.about_label()
        return self.taxonomy.parse_label(name) if name is not None else None

    def _round(self) -> CheckinRound | None:
        def find() -> CheckinRound | None:
            ref = self.event.data.about_round()
            return self.session.get(CheckinRound, ref) if ref is not None else None

        return self._memo("round", find)

    def _hypothesis(self) -> Hypothesis | None:
        def find() -> Hypothesis | None:
            ref = self.event.data.about_hypothesis()
            subject_kind, _, subject_id = self.event.subject.partition(":")
            if ref is None and subject_kind == "hypothesis":  # hypothesis.* events are about `hypothesis:<id>`
                ref = _int(subject_id)
            if ref is None and self._round() is not None:
                ref = self._round().hypothesis_id  # type: ignore[union-attr]
            return self.session.get(Hypothesis, ref) if ref is not None else None

        return self._memo("hypothesis", find)

    def _epic_key(self) -> str | None:
        data = self.event.data
        if data.states_epic() is True:
            return self.event.subject
        if data.about_epic():
            return data.about_epic()
        ticket = self._ticket()
        if ticket is not None:
            return ticket.key if ticket.is_epic else ticket.epic_key
        if self.session.get(Epic, self.event.subject) is not None:
            return self.event.subject
        hypothesis = self._hypothesis()
        return hypothesis.epic_key if hypothesis else None

    def _epic_title(self) -> str | None:
        key = self.get("epic.key")
        ticket = self.session.get(Ticket, key) if key else None
        return ticket.title if ticket else None

    def _epic_hypothesis_count(self) -> int:
        key = self.get("epic.key")
        if not key:
            return 0
        return int(self.session.scalar(select(func.count()).where(Hypothesis.epic_key == key)) or 0)

    def _epic_active_hypothesis_ids(self) -> list[int]:
        key = self.get("epic.key")
        return self._active_hypotheses([key]) if key else []

    def _active_hypotheses(self, epics: Iterable[str]) -> list[int]:
        query = (
            select(Hypothesis.id)
            .where(Hypothesis.epic_key.in_(list(epics)), Hypothesis.status.in_(ACTIVE_STATUSES))
            .order_by(Hypothesis.id)
        )
        return list(self.session.scalars(query))

    # --- iterations ----------------------------------------------------------------------------------------

    def _iteration_key(self) -> str | None:
        kind = self.event.kind
        if kind.startswith("iteration.") and kind not in _MEMBERSHIP_KINDS:
            return self.event.subject
        if self.event.data.about_iteration():
            return self.event.data.about_iteration()
        round_ = self._round()
        return round_.iteration_key if round_ else None

    def _iteration(self) -> Iteration | None:
        key = self.get("iteration.key")
        return self.session.get(Iteration, key) if key else None

    def _iteration_name(self) -> str | None:
        return _attr(self._iteration(), "name")

    def _iteration_epics(self) -> list[str]:
        key = self.get("iteration.key")
        if not key:
            return []
        rows = self.session.execute(
            select(Ticket.key, Ticket.is_epic, Ticket.epic_key)
            .join(TicketIteration, TicketIteration.ticket_key == Ticket.key)
            .where(TicketIteration.iteration_key == key, TicketIteration.left_at.is_(None))
        )
        return sorted({row.key if row.is_epic else row.epic_key for row in rows if row.is_epic or row.epic_key})

    def _iteration_active_hypothesis_ids(self) -> list[int]:
        epics = self.get("iteration.epics")
        return self._active_hypotheses(epics) if epics else []

    def _hypotheses_without_round(self) -> list[int]:
        ids = self.get("iteration.active_hypothesis_ids")
        if not ids:
            return []
        with_round = set(
            self.session.scalars(
                select(CheckinRound.hypothesis_id).where(
                    CheckinRound.iteration_key == self.get("iteration.key"),
                    CheckinRound.kind == "iteration",
                    CheckinRound.hypothesis_id.in_(ids),
                )
            )
        )
        return [h for h in ids if h not in with_round]

    def _epics_without_hypothesis(self) -> list[str]:
        epics = self.get("iteration.epics")
        if not epics:
            return []
        covered = set(
            self.session.scalars(
                select(Hypothesis.epic_key).where(
                    Hypothesis.epic_key.in_(epics), Hypothesis.status.in_(ACTIVE_STATUSES)
                )
            )
        )
        return [key for key in epics if key not in covered]

    def _answer_scope(self) -> list[int] | None:
        """Answers about the event's hypothesis when it has one (a check-in event), else about every hypothesis.

        An alert on an epic must not be hidden by other epics' answers averaged into the same iteration.
        """
        hypothesis = self._hypothesis()
        return [hypothesis.id] if hypothesis is not None else None

    def _group_means(self, iteration: str | None, hypotheses: list[int] | None = None) -> dict[str, float]:
        return answers.group_means(self.session, iteration, hypotheses)

    def _drops(self) -> dict[str, float]:
        def compute() -> dict[str, float]:
            iteration = self.get("iteration.key")
            if not iteration:
                return {}
            scope = self._answer_scope()
            hypotheses = scope or list(
                self.session.scalars(
                    select(CheckinRound.hypothesis_id).where(CheckinRound.iteration_key == iteration).distinct()
                )
            )
            previous = answers.previous_iteration(self.session, iteration, hypotheses)
            if previous is None:
                return {}
            # With the event's own hypothesis as scope these are `iteration.group_means`, maybe asked already.
            now_means = self.get("iteration.group_means") if scope else self._group_means(iteration, hypotheses)
            before = self._group_means(previous, hypotheses)
            return {group: before[group] - mean for group, mean in now_means.items() if group in before}

        return self._memo("drops", compute)

    def _divergence(self) -> float | None:
        means = self.get("iteration.group_means")
        return max(means.values()) - min(means.values()) if len(means) >= 2 else None

    def _touched(self, iteration: str | None) -> set[str]:
        if not iteration:
            return set()
        query = (
            select(Label.dimension)
            .join(TicketIteration, TicketIteration.ticket_key == Label.ticket_key)
            .where(
                TicketIteration.iteration_key == iteration,
                Label.dimension.is_not(None),
                Label.polarity == "value",
            )
            .distinct()
        )
        return {str(d) for d in self.session.scalars(query)}

    def _streak(self) -> tuple[int, str | None]:
        """Iterations in a row, ending with this one, whose value labels all name one and the same dimension.

        "In a row" follows the start dates of iterations of the same board: the tracker's board when it names one
        (Jira sprint ids are site-wide), else the key up to its last `/` (a GitHub repository's milestones).
        """

        def compute() -> tuple[int, str | None]:
            key = self.get("iteration.key")
            current = self.session.get(Iteration, key) if key else None
            if current is None:
                return 0, None
            only = self._touched(current.key)
            if len(only) != 1:
                return 0, None
            prefix = current.key.rsplit("/", 1)[0] + "/"
            same_board = (
                Iteration.board == current.board if current.board else Iteration.key.startswith(prefix, autoescape=True)
            )
            ordering = func.coalesce(Iteration.start_at, Iteration.created_at)
            earlier = self.session.scalars(
                select(Iteration.key)
                .where(
                    same_board,
                    Iteration.key != current.key,
                    Iteration.state.in_(("active", "closed")),
                    ordering < (current.start_at or current.created_at),
                )
                .order_by(ordering.desc())
            )
            streak = 1
            for previous in earlier:
                if self._touched(previous) != only:
                    break
                streak += 1
            return streak, next(iter(only))

        return self._memo("streak", compute)

    # --- check-in rounds -----------------------------------------------------------------------------------

    def _response_rate(self) -> float | None:
        round_ = self._round()
        if round_ is None:
            return None
        if round_.response_rate is not None:
            return round_.response_rate
        sent = self.session.scalar(select(func.count()).where(CheckinPrompt.round_id == round_.id)) or 0
        if not sent:
            return None  # nobody was asked yet: no rate to judge
        answered_prompts = select(CheckinAnswer.prompt_id).where(CheckinAnswer.round_id == round_.id)
        answered = self.session.scalar(
            select(func.count()).where(
                CheckinPrompt.round_id == round_.id,
                CheckinPrompt.answered_at.is_not(None) | CheckinPrompt.id.in_(answered_prompts),
            )
        )
        return float(answered or 0) / float(sent)

    def _elapsed(self) -> float | None:
        round_ = self._round()
        if round_ is None or round_.deadline is None:
            return None
        span = (round_.deadline - round_.opened_at).total_seconds()
        return (self.now - round_.opened_at).total_seconds() / span if span > 0 else 1.0


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _attr(row: Any, name: str) -> Any:
    return getattr(row, name) if row is not None else None


def _arg(values: dict[str, float], pick: Callable[..., Any]) -> str | None:
    return pick(values, key=values.__getitem__) if values else None
