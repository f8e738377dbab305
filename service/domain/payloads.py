"""What each kind of domain event carries, typed: read by attribute after the integrations boundary, never by key.

Two families:
- reported: what a tracker says, as an integration hands it to the service (`REPORTED`). Strict, and bounded by
  the column limits of `service.domain.limits`: intake checks every reported event (`check`), so an acknowledged
  delivery always fits the state it is applied to.
- recorded: what actually happened to the service's state, as the pipeline, the hypotheses and the rules see it
  (`RECORDED`). Most of it is also the value-log entry's `data` (`Payload.logged`).

Where a tracker's report and the record have the same shape (labels, epic links, comments, pings) one model
serves both. Every payload answers the questions rules ask of any event ("which epic, iteration, round,
hypothesis, label is this about?") through the `about_*` methods, so facts need not know each kind's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from service.domain import limits
from service.domain.kinds import Kind

if TYPE_CHECKING:  # events.py imports this module: the event class is needed here for annotations only
    from service.domain.events import Event

Key = Annotated[str, StringConstraints(min_length=1, max_length=limits.KEY)]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=limits.LABEL)]
NodeId = Annotated[str, StringConstraints(min_length=1, max_length=limits.NODE_ID)]
Board = Annotated[str, StringConstraints(min_length=1, max_length=limits.BOARD)]
Person = Annotated[str, StringConstraints(max_length=limits.ACTOR)]
FieldId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# An estimate, not a count: finite, and within what any tracker allows (Jira's number fields stop far below).
Estimate = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]
IterationState = Literal["future", "active", "closed", "deleted"]


class Payload(BaseModel):
    """The data of one event. `logged()` is what its value-log entry holds: the fields set, minus NOT_LOGGED."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    NOT_LOGGED: ClassVar[frozenset[str]] = frozenset()

    def logged(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude=set(self.NOT_LOGGED))

    def plain(self) -> dict[str, Any]:
        """Every field set, as plain data: what rules' conditions and templates see as `event.data`."""
        return self.model_dump(exclude_unset=True)

    def about_epic(self) -> str | None:
        return None

    def about_iteration(self) -> str | None:
        return None

    def about_round(self) -> int | None:
        return None

    def about_hypothesis(self) -> int | None:
        return None

    def about_label(self) -> str | None:
        return None

    def states_epic(self) -> bool | None:
        """True or False when the event itself says whether its ticket is an epic; None when it does not say."""
        return None


class Reported(Payload):
    # Strict: an integration that sends a number where text belongs has a bug to fix, not a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- reported by trackers -------------------------------------------------------------------------------------


class IterationReport(Reported):
    """A sprint, milestone or Projects iteration as the tracker describes it; only the key is always known."""

    key: Key
    name: str | None = None
    state: IterationState | None = None
    goal: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    completed_at: datetime | None = None  # Jira, when a sprint is closed
    board: Board | None = None
    url: str | None = None

    def about_iteration(self) -> str | None:
        return self.key


class ParentReport(Reported):
    key: Key
    title: str = ""


class TicketReport(Reported):
    """ticket.*: the issue as the tracker has it now; a field left out is not known and keeps its stored value."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    node_id: NodeId | None = None
    state: Literal["open", "closed"] | None = None
    issue_type: str | None = None
    labels: list[LabelName] | None = None
    is_epic: bool | None = None
    epic: Key | None = None  # the parent epic; None when the tracker says there is none
    parent: ParentReport | None = None
    iterations: list[IterationReport] | None = None  # every iteration it is in, within `iteration_scope`
    iteration_scope: Key | None = None  # the key prefix `iterations` covers, e.g. `jira:sprint/`
    # Numeric custom fields as the tracker sent them (Jira); settings say which one holds story points.
    estimates: dict[FieldId, Estimate] | None = None

    def says(self, name: str) -> bool:
        """The tracker gave this field (possibly as null), as opposed to leaving it out."""
        return name in self.model_fields_set

    def states_epic(self) -> bool | None:
        return self.is_epic


class PlacementReport(Reported):
    """iteration.joined / iteration.left as reported: the iteration, and for GitHub Projects the issue's node id."""

    iteration: IterationReport
    node_id: NodeId | None = None

    def about_iteration(self) -> str | None:
        return self.iteration.key


# --- reported and recorded alike ------------------------------------------------------------------------------


class LabelChange(Payload):
    """label.added / label.removed / label.unknown. Trackers report the name; the record adds what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    label: LabelName
    dimension: str | None = None
    polarity: Literal["value", "value-risk"] | None = None
    written: str | None = None  # label.unknown: the slug as written
    suggestion: str | None = None  # label.unknown: the closest known slug

    def about_label(self) -> str | None:
        return self.label


class EpicChange(Payload):
    """epic.linked / epic.unlinked: the epic a ticket joined or left."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    epic: Key

    def about_epic(self) -> str | None:
        return self.epic


class Comment(Payload):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    comment_id: Key
    author: Person | None = None
    author_name: str | None = None
    body: str
    url: str | None = None


class Ping(Payload):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    tracker: Key
    hook_id: str | None = None
    zen: str | None = None


# --- recorded by the service ----------------------------------------------------------------------------------


class TicketChange(Payload):
    """What a ticket is now, after a change; the description and epic ride along for the rules, not the log."""

    NOT_LOGGED: ClassVar[frozenset[str]] = frozenset({"description", "epic"})
    title: str | None = None
    url: str | None = None
    is_epic: bool | None = None
    state: str | None = None
    changed: list[str] | None = None  # ticket.updated: which fields changed
    description: str | None = None
    epic: str | None = None

    def about_epic(self) -> str | None:
        return self.epic

    def states_epic(self) -> bool | None:
        return self.is_epic


class IterationChange(Payload):
    name: str | None = None
    state: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None


class Membership(Payload):
    """iteration.joined / iteration.left as recorded: the ticket (the subject) and the iteration's key."""

    iteration: str

    def about_iteration(self) -> str | None:
        return self.iteration


class HypothesisChange(Payload):
    """hypothesis.created / updated / retired: old and new values, or the changes, with the reason."""

    epic: str | None = None
    origin: str | None = None
    block: str | None = None
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None
    reason: str | None = None

    def about_epic(self) -> str | None:
        return self.epic


class HypothesisRejected(Payload):
    """hypothesis.invalid: a block that could not be read, with each error and its line in the description."""

    epic: str | None = None
    block: str | None = None
    block_sha256: str | None = None
    hypothesis: int | None = None
    errors: list[dict[str, Any]] = []
    messages: list[str] = []

    def about_epic(self) -> str | None:
        return self.epic

    def about_hypothesis(self) -> int | None:
        return self.hypothesis


class PhaseChange(Payload):
    epic: str | None = None
    changes: dict[str, Any] | None = None
    reason: str | None = None
    iteration: str | None = None

    def about_epic(self) -> str | None:
        return self.epic

    def about_iteration(self) -> str | None:
        return self.iteration


class ReadingRecorded(Payload):
    epic: str | None = None
    reading: int | None = None
    measure: str | None = None
    value: float | None = None
    date: str | None = None
    source: str | None = None

    def about_epic(self) -> str | None:
        return self.epic


class RoundDue(Payload):
    """clock.open_round: an open check-in round, at a scheduled rule's fire time."""

    round: int
    hypothesis: int | None = None
    iteration: str | None = None
    kind: str | None = None

    def about_round(self) -> int | None:
        return self.round

    def about_hypothesis(self) -> int | None:
        return self.hypothesis

    def about_iteration(self) -> str | None:
        return self.iteration


class IterationDue(Payload):
    """clock.active_iteration: an active iteration, at a scheduled rule's fire time."""

    iteration: str

    def about_iteration(self) -> str | None:
        return self.iteration


class CheckinChange(Payload):
    """checkin.*: a round and its hypothesis (and, for answers, who in which group said what)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    round: int | None = None
    hypothesis: int | None = None
    iteration: str | None = None
    group: str | None = None
    score: int | None = None

    def about_round(self) -> int | None:
        return self.round

    def about_hypothesis(self) -> int | None:
        return self.hypothesis

    def about_iteration(self) -> str | None:
        return self.iteration


REPORTED: dict[Kind, type[Payload]] = {
    **dict.fromkeys(
        (Kind.TICKET_CREATED, Kind.TICKET_UPDATED, Kind.TICKET_CLOSED, Kind.TICKET_REOPENED, Kind.TICKET_DELETED),
        TicketReport,
    ),
    Kind.LABEL_ADDED: LabelChange,
    Kind.LABEL_REMOVED: LabelChange,
    Kind.EPIC_LINKED: EpicChange,
    Kind.EPIC_UNLINKED: EpicChange,
    **dict.fromkeys(
        (
            Kind.ITERATION_CREATED,
            Kind.ITERATION_UPDATED,
            Kind.ITERATION_STARTED,
            Kind.ITERATION_CLOSED,
            Kind.ITERATION_DELETED,
        ),
        IterationReport,
    ),
    Kind.ITERATION_JOINED: PlacementReport,
    Kind.ITERATION_LEFT: PlacementReport,
    Kind.COMMENT_CREATED: Comment,
    Kind.TRACKER_PINGED: Ping,
}

RECORDED: dict[Kind, type[Payload]] = {
    **dict.fromkeys(
        (Kind.TICKET_CREATED, Kind.TICKET_UPDATED, Kind.TICKET_CLOSED, Kind.TICKET_REOPENED, Kind.TICKET_DELETED),
        TicketChange,
    ),
    Kind.LABEL_ADDED: LabelChange,
    Kind.LABEL_REMOVED: LabelChange,
    Kind.LABEL_UNKNOWN: LabelChange,
    Kind.EPIC_LINKED: EpicChange,
    Kind.EPIC_UNLINKED: EpicChange,
    Kind.EPIC_PHASE_CHANGED: PhaseChange,
    **dict.fromkeys(
        (
            Kind.ITERATION_CREATED,
            Kind.ITERATION_UPDATED,
            Kind.ITERATION_STARTED,
            Kind.ITERATION_CLOSED,
            Kind.ITERATION_DELETED,
        ),
        IterationChange,
    ),
    Kind.ITERATION_JOINED: Membership,
    Kind.ITERATION_LEFT: Membership,
    Kind.COMMENT_CREATED: Comment,
    Kind.TRACKER_PINGED: Ping,
    **dict.fromkeys((Kind.HYPOTHESIS_CREATED, Kind.HYPOTHESIS_UPDATED, Kind.HYPOTHESIS_RETIRED), HypothesisChange),
    Kind.HYPOTHESIS_INVALID: HypothesisRejected,
    Kind.READING_RECORDED: ReadingRecorded,
    Kind.CLOCK_OPEN_ROUND: RoundDue,
    Kind.CLOCK_ACTIVE_ITERATION: IterationDue,
    **dict.fromkeys(
        (
            Kind.CHECKIN_OPENED,
            Kind.CHECKIN_PROMPTED,
            Kind.CHECKIN_REMINDED,
            Kind.CHECKIN_ANSWERED,
            Kind.CHECKIN_CLOSED,
            Kind.CHECKIN_UNREACHABLE,
        ),
        CheckinChange,
    ),
}


_KINDS = frozenset(Kind)


def recorded(kind: str, data: Mapping[str, Any]) -> Payload:
    """Plain data of a recorded event (a test's, or `pvm rules test`'s event file) as its kind's payload."""
    model = RECORDED.get(Kind(kind)) if kind in _KINDS else None
    if model is None:
        raise ValueError(f"no domain event has the kind {kind!r}; known: {', '.join(sorted(RECORDED))}")
    # A value-log entry's data also holds when the tracker said it happened; the event carries that itself.
    return model.model_validate({k: v for k, v in data.items() if k != "occurred_at"}, strict=False)


class Envelope(Reported):
    source: Annotated[str, StringConstraints(min_length=1, max_length=limits.SOURCE)]
    subject: Key
    actor: Annotated[str, StringConstraints(min_length=1, max_length=limits.ACTOR)]


_ENVELOPE = TypeAdapter(Envelope)


class EventInvalid(ValueError):
    """A reported event that cannot be stored as it is; the message names the kind, subject and field."""


def check(event: Event) -> None:
    """Raise EventInvalid unless the event is one an integration may report, with its kind's payload, and fits."""
    model = REPORTED.get(Kind(event.kind)) if event.kind in _KINDS else None
    where = f"{str(event.kind)[:100]} {_shown(event.subject)}"
    if model is None:
        known = ", ".join(REPORTED)
        raise EventInvalid(f"event kind {str(event.kind)[:100]!r} is not one an integration may send; known: {known}")
    if not isinstance(event.data, model):
        raise EventInvalid(f"{where}: the data must be a {model.__name__}, not a {type(event.data).__name__}")
    try:
        _ENVELOPE.validate_python({"source": event.source, "subject": event.subject, "actor": event.actor})
    except ValidationError as exc:
        raise EventInvalid(f"{where}: {problems(exc)}") from None


_MODELS = {model.__name__: model for model in (*REPORTED.values(), *RECORDED.values())}


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def problems(exc: ValidationError) -> str:
    """A payload's validation errors in a line, naming each field and, for long text, its length and limit."""
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        path = ".".join(str(part) for part in err["loc"]) or "data"
        message = err["msg"]
        model = _MODELS.get(exc.title)
        if err["type"] == "extra_forbidden" and model is not None:
            message = f"not a field of {exc.title}; its fields are {', '.join(model.model_fields)}"
        elif err["type"] == "string_too_long":
            found = len(err["input"]) if isinstance(err.get("input"), str) else "more"
            message = f"{found} characters, at most {err['ctx']['max_length']} are accepted for it"
        parts.append(f"{path}: {message}")
    return "; ".join(parts)
