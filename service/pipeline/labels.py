"""Labels on tickets: value labels get their dimension and polarity; unknown value slugs get a suggestion."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import LabelChange
from service.pipeline.context import Step
from service.storage.models import Label


def current(step: Step, ticket_key: str) -> set[str]:
    return set(step.session.scalars(select(Label.name).where(Label.ticket_key == ticket_key)))


def add(step: Step, ticket_key: str, name: str) -> list[Event]:
    if step.session.get(Label, (ticket_key, name)) is not None:
        return []  # already there: the same label seen again (snapshot and explicit event) counts once
    parsed = step.taxonomy.parse_label(name)
    label = Label(
        ticket_key=ticket_key,
        name=name,
        dimension=parsed.dimension if parsed else None,
        polarity=parsed.polarity if parsed else None,
        added_at=step.event.occurred_at or datetime.now(UTC),
    )
    step.session.add(label)
    data = _change(label)
    if parsed is None:
        return [step.derive(Kind.LABEL_ADDED, ticket_key, data)]  # not a value label: state only, no log entry
    if parsed.dimension is None:
        # Stored (so removing it later is seen) but logged as unknown, with the closest known slug to suggest.
        unknown = data.model_copy(update={"written": parsed.written, "suggestion": parsed.suggestion})
        return [step.derive(Kind.LABEL_ADDED, ticket_key, data), step.record(Kind.LABEL_UNKNOWN, ticket_key, unknown)]
    return [step.record(Kind.LABEL_ADDED, ticket_key, data)]


def remove(step: Step, ticket_key: str, name: str) -> list[Event]:
    label = step.session.get(Label, (ticket_key, name))
    if label is None:
        return []
    data = _change(label)
    step.session.delete(label)
    if label.polarity is None:
        return [step.derive(Kind.LABEL_REMOVED, ticket_key, data)]
    return [step.record(Kind.LABEL_REMOVED, ticket_key, data)]


def _change(label: Label) -> LabelChange:
    polarity = label.polarity if label.polarity in ("value", "value-risk") else None
    return LabelChange(label=label.name, dimension=label.dimension, polarity=polarity)  # type: ignore[arg-type]


def replace_all(step: Step, ticket_key: str, wanted: list[str]) -> list[Event]:
    """Make the ticket's labels equal `wanted` (a full snapshot from the tracker)."""
    have = current(step, ticket_key)
    result: list[Event] = []
    for name in sorted(set(wanted) - have):
        result += add(step, ticket_key, name)
    for name in sorted(have - set(wanted)):
        result += remove(step, ticket_key, name)
    return result
