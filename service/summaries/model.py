"""The sprint value summary as data: one shape that the JSON answer, Markdown, CSV, HTML and the dashboard share.

Scores run from -2 (value destroyed) to +2 (value clearly created). A field that cannot be computed (no answers,
no tagged work) is None, and `notes` says so in words: no division by zero, no empty table without a sentence.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class IterationRef(Shape):
    key: str
    name: str
    source: str
    state: str
    start_at: datetime | None
    end_at: datetime | None


class DimensionWork(Shape):
    """Tickets in the iteration labelled with one value dimension (a ticket with two counts in both)."""

    dimension: str
    name: str
    tickets: int
    done: int
    points: float | None  # None: no ticket of this dimension has an estimate (GitHub has none)
    done_points: float | None


class RiskRaised(Shape):
    ticket: str
    title: str
    dimension: str | None
    label: str


class Work(Shape):
    tickets: int
    done: int
    points: float | None
    done_points: float | None
    tagged: int  # tickets with at least one value label
    untagged: int
    untagged_share: float | None  # None when the iteration has no tickets
    by_dimension: list[DimensionWork]
    by_category: dict[str, float] | None  # with `?framework=`: tickets per category of that framework
    risks: list[RiskRaised]


class GroupAnswers(Shape):
    """The answers of one stakeholder group: a person's latest answer in a round counts, earlier ones do not."""

    group: str
    asked: int  # prompts sent to people of the group
    answered: int  # of those, answered
    answers: int  # answers counted (link-only and API answers included)
    late: int  # given after the round closed, still counted and shown as late
    mean: float | None
    spread: float | None  # population standard deviation of the scores; 0 for one answer
    lowest: int | None
    highest: int | None


class Reading(Shape):
    value: float
    date: date
    source: str | None


class MeasureProgress(Shape):
    name: str | None
    baseline: float | None
    target: float | None
    target_date: date | None
    before: Reading | None  # the latest reading before the iteration started
    latest: Reading | None  # the latest reading up to the iteration's end
    readings: list[Reading]  # readings taken during the iteration
    movement: str  # "toward the target" | "away from the target" | "unchanged" | "no reading" | "no target"
    progress: float | None  # share of the way from baseline to target the latest reading covers


class Change(Shape):
    at: str
    kind: str
    field: str
    old: object
    new: object
    reason: str | None
    actor: str


class WorseOff(Shape):
    """An answer that says someone is worse off or not represented (its text is None when the person was erased)."""

    hypothesis: int
    group: str
    score: int
    text: str | None
    late: bool


class Alert(Shape):
    type: str  # co-destruction | divergence | ...
    epic: str
    at: str
    rule: str | None
    text: str


class Signal(Shape):
    """A group whose answers say value may be destroyed for it: a mean at or below -1, or a fall of 1 or more."""

    hypothesis: int
    group: str
    mean: float
    previous_mean: float | None
    reason: str


class HypothesisSummary(Shape):
    id: int
    epic: str
    epic_title: str
    statement: str
    dimensions: list[str]
    stakeholders: list[str]
    phase: str
    status: str
    confidence: str | None
    trade_offs: list[str]
    risks: list[dict[str, object]]
    measure: MeasureProgress | None
    changes: list[Change]
    rounds: list[int]
    groups: list[GroupAnswers]
    not_asked: list[str]  # groups the hypothesis names that nobody of was asked in this iteration
    not_answering: list[str]  # groups asked whose people gave no answer
    divergence: float | None
    response_rate: float | None


class ResponseRate(Shape):
    asked: int
    answered: int
    rate: float | None


class TrendPoint(Shape):
    key: str
    name: str
    start_at: datetime | None
    tickets: int
    untagged_share: float | None
    answers: int
    group_means: dict[str, float]
    response_rate: float | None


class Summary(Shape):
    iteration: IterationRef
    generated_at: datetime
    framework: str | None
    work: Work
    hypotheses: list[HypothesisSummary]
    groups: list[GroupAnswers]
    not_asked: list[str]
    not_answering: list[str]
    divergence: float | None
    signals: list[Signal]
    worse_off: list[WorseOff]
    erased_texts: int  # answers whose texts were removed at the person's request
    alerts: list[Alert]
    trade_offs: list[dict[str, object]]
    response: ResponseRate
    trend: list[TrendPoint]  # earlier iterations of the same board or repository, oldest first
    notes: list[str]
