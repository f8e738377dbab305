"""What an integration may hand to the service: each event kind's data, typed and within the column limits.

Every event an integration produces passes `check` at intake, before the delivery is acknowledged, and again in
the worker; so an acknowledged delivery always fits the state it is applied to. A kind not listed here, a field
of the wrong type or an identifier over its limit is refused with the field named.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from service.domain import events as kinds
from service.domain import limits
from service.domain.events import Event

Key = Annotated[str, StringConstraints(min_length=1, max_length=limits.KEY)]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=limits.LABEL)]
NodeId = Annotated[str, StringConstraints(min_length=1, max_length=limits.NODE_ID)]
Board = Annotated[str, StringConstraints(min_length=1, max_length=limits.BOARD)]
IterationState = Literal["future", "active", "closed", "deleted"]


class _Data(BaseModel):
    # Strict: an integration that sends a number where text belongs has a bug to fix, not a value to coerce.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Iteration(_Data):
    """A sprint, milestone or Projects iteration as the tracker describes it; only the key is always known."""

    key: Key
    name: str | None = None
    state: IterationState | None = None
    goal: str | None = None
    start_at: str | None = None  # ISO 8601, UTC
    end_at: str | None = None
    completed_at: str | None = None  # Jira, when a sprint is closed
    board: Board | None = None
    url: str | None = None


class Parent(_Data):
    key: Key
    title: str = ""


class TicketSnapshot(_Data):
    """ticket.*: the issue as the tracker has it now; a field left out is not known and keeps its stored value."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    node_id: NodeId | None = None
    state: Literal["open", "closed"] | None = None
    issue_type: str | None = None
    labels: list[LabelName] | None = None
    is_epic: bool | None = None
    epic: Key | None = None
    parent: Parent | None = None
    iterations: list[Iteration] | None = None
    iteration_scope: Key | None = None  # the key prefix `iterations` covers, e.g. `jira:sprint/`


class LabelChange(_Data):
    label: LabelName


class EpicChange(_Data):
    epic: Key


class Membership(_Data):
    iteration: Iteration
    node_id: NodeId | None = None


class Comment(_Data):
    comment_id: Annotated[str, StringConstraints(min_length=1, max_length=limits.KEY)]
    author: Annotated[str, StringConstraints(max_length=limits.ACTOR)] | None = None
    author_name: str | None = None
    body: str
    url: str | None = None


class Ping(_Data):
    tracker: Key
    hook_id: str | None = None
    zen: str | None = None


SCHEMAS: dict[str, type[_Data]] = {
    **dict.fromkeys(
        (kinds.TICKET_CREATED, kinds.TICKET_UPDATED, kinds.TICKET_CLOSED, kinds.TICKET_REOPENED, kinds.TICKET_DELETED),
        TicketSnapshot,
    ),
    kinds.LABEL_ADDED: LabelChange,
    kinds.LABEL_REMOVED: LabelChange,
    kinds.EPIC_LINKED: EpicChange,
    kinds.EPIC_UNLINKED: EpicChange,
    **dict.fromkeys(
        (
            kinds.ITERATION_CREATED,
            kinds.ITERATION_UPDATED,
            kinds.ITERATION_STARTED,
            kinds.ITERATION_CLOSED,
            kinds.ITERATION_DELETED,
        ),
        Iteration,
    ),
    kinds.ITERATION_JOINED: Membership,
    kinds.ITERATION_LEFT: Membership,
    kinds.COMMENT_CREATED: Comment,
    kinds.TRACKER_PINGED: Ping,
}


class Envelope(_Data):
    source: Annotated[str, StringConstraints(min_length=1, max_length=limits.SOURCE)]
    subject: Key
    actor: Annotated[str, StringConstraints(min_length=1, max_length=limits.ACTOR)]


_ENVELOPE = TypeAdapter(Envelope)


class EventInvalid(ValueError):
    """An event that cannot be stored as it is; the message names the kind, subject and field."""


def check(event: Event) -> None:
    """Raise EventInvalid unless the event's kind is known and its envelope and data fit the state."""
    schema = SCHEMAS.get(event.kind)
    if schema is None:
        raise EventInvalid(
            f"event kind {event.kind[:100]!r} is not one an integration may send; known: {', '.join(SCHEMAS)}"
        )
    where = f"{event.kind} {_shown(event.subject)}"
    try:
        _ENVELOPE.validate_python({"source": event.source, "subject": event.subject, "actor": event.actor})
        schema.model_validate(dict(event.data))
    except ValidationError as exc:
        raise EventInvalid(f"{where}: {_problems(exc)}") from None


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        path = ".".join(str(part) for part in err["loc"]) or "data"
        message = err["msg"]
        if err["type"] == "string_too_long":
            found = len(err["input"]) if isinstance(err.get("input"), str) else "more"
            message = f"{found} characters, at most {err['ctx']['max_length']} are accepted for it"
        parts.append(f"{path}: {message}")
    return "; ".join(parts)


__all__ = ["SCHEMAS", "EventInvalid", "check"]
