"""The one place that writes hypotheses: API, form, block and lifecycle change state and the value log here.

Each function works in the caller's session and transaction, so the state change and its value-log entry commit
or roll back together. Each returns the domain Event(s) that happened, for the rules engine.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from service import once_keys, valuelog
from service.domain import once
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import HypothesisChange, HypothesisRejected, Payload, ReadingRecorded
from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import (
    FIELDS,
    LIFECYCLE_FIELDS,
    HypothesisFields,
    HypothesisInvalid,
    Problem,
    record_values,
    validate,
)
from service.storage.models import Epic, Hypothesis, Reading


class EpicUnknown(LookupError):
    """The epic has not been seen from its tracker yet; the message says how it becomes known."""

    def __init__(self, epic_key: str) -> None:
        super().__init__(
            f"epic {epic_key!r} is not known: epics become known when their tracker sends a webhook for them "
            "(create or edit the issue in GitHub or Jira, or redeliver its webhook), then try again"
        )
        self.epic_key = epic_key


def subject_of(hypothesis: Hypothesis) -> str:
    """The value-log subject of a hypothesis."""
    return f"hypothesis:{hypothesis.id}"


def status_key(hypothesis: Hypothesis, status: str, reason: str | None) -> str:
    """The once-key saying the hypothesis was set to `status` with `reason` (blank reasons count as none)."""
    return once.hypothesis_status(hypothesis.id, status, (reason or "").strip() or None)


def require_epic(session: Session, epic_key: str) -> Epic:
    epic = session.get(Epic, epic_key)
    if epic is None:
        raise EpicUnknown(epic_key)
    return epic


def snapshot(hypothesis: Hypothesis) -> dict[str, Any]:
    """The hypothesis's fields under the API's names (deep copies: JSON columns must not be mutated in place)."""
    return {name: copy.deepcopy(getattr(hypothesis, name)) for name in FIELDS}


def as_dict(hypothesis: Hypothesis) -> dict[str, Any]:
    return {
        "id": hypothesis.id,
        "epic_key": hypothesis.epic_key,
        "origin": hypothesis.origin,
        "block": hypothesis.block_ref,
        **snapshot(hypothesis),
        "created_at": hypothesis.created_at.isoformat() if hypothesis.created_at else None,
        "updated_at": hypothesis.updated_at.isoformat() if hypothesis.updated_at else None,
    }


def _log(session: Session, kind: str, subject: str, data: Payload, *, actor: str, source: str) -> Event:
    valuelog.append(session, kind=kind, subject=subject, data=data.logged(), actor=actor, source=source)
    return Event(kind=kind, source=source, subject=subject, actor=actor, occurred_at=datetime.now(UTC), data=data)


def create(
    session: Session,
    *,
    epic_key: str,
    fields: HypothesisFields,
    origin: str,
    actor: str,
    source: str,
    block_ref: str | None = None,
    block_sha256: str | None = None,
    reason: str | None = None,
) -> tuple[Hypothesis, Event]:
    """State a hypothesis; one that starts in a status other than `proposed` needs the reason, as a change would."""
    epic = require_epic(session, epic_key)
    status = fields.status or "proposed"
    reason = (reason or "").strip() or None
    if status != "proposed" and reason is None:
        raise HypothesisInvalid(
            [Problem("reason", f"a hypothesis that starts as {status!r} needs a reason: say why, e.g. `reason: ...`")]
        )
    hypothesis = Hypothesis(
        epic_key=epic_key,
        origin=origin,
        **record_values(fields),
        # A hypothesis stated while work is under way starts in the epic's phase, not ex ante.
        phase=fields.phase or epic.phase,
        status=status,
        confidence=fields.confidence,
        block_ref=block_ref,
        block_sha256=block_sha256,
    )
    session.add(hypothesis)
    session.flush()
    once_keys.claim(session, status_key(hypothesis, status, reason))
    data = HypothesisChange(
        epic=epic_key, origin=origin, block=block_ref, old=None, new=snapshot(hypothesis), reason=reason
    )
    event = _log(session, Kind.HYPOTHESIS_CREATED, subject_of(hypothesis), data, actor=actor, source=source)
    return hypothesis, event


def _changes(hypothesis: Hypothesis, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    old = snapshot(hypothesis)
    return {name: {"old": old[name], "new": new[name]} for name in FIELDS if old[name] != new[name]}


def _apply(
    session: Session,
    hypothesis: Hypothesis,
    new: dict[str, Any],
    *,
    reason: str | None,
    actor: str,
    source: str,
) -> Event | None:
    changes = _changes(hypothesis, new)
    if not changes:
        return None
    reason = (reason or "").strip() or None
    if "status" in changes and reason is None:
        raise HypothesisInvalid(
            [Problem("reason", "a status change needs a reason: say why, e.g. `reason: the pilot showed no effect`")]
        )
    for name, change in changes.items():
        setattr(hypothesis, name, change["new"])
    if "status" in changes:
        # Kept so a block edit can tell a status it set before from a new one (blocks.py), however old the change.
        once_keys.claim(session, status_key(hypothesis, changes["status"]["new"], reason))
    retired = changes.get("status", {}).get("new") == "retired"
    kind = Kind.HYPOTHESIS_RETIRED if retired else Kind.HYPOTHESIS_UPDATED
    data = HypothesisChange(epic=hypothesis.epic_key, changes=changes, reason=reason)
    return _log(session, kind, subject_of(hypothesis), data, actor=actor, source=source)


def update(
    session: Session,
    hypothesis: Hypothesis,
    *,
    fields: HypothesisFields,
    reason: str | None,
    actor: str,
    source: str,
) -> Event | None:
    """Replace the content with `fields`; phase, status and confidence change only when `fields` sets them.

    None when nothing changed (so an unchanged save writes nothing).
    """
    new = {**record_values(fields)}
    for name in LIFECYCLE_FIELDS:
        given = getattr(fields, name)
        new[name] = given if given is not None else getattr(hypothesis, name)
    return _apply(session, hypothesis, new, reason=reason, actor=actor, source=source)


def patch(
    session: Session,
    hypothesis: Hypothesis,
    *,
    changes: dict[str, Any],
    reason: str | None,
    taxonomy: Taxonomy,
    actor: str,
    source: str,
) -> Event | None:
    """Apply some fields on top of the current ones, validating the whole result as one hypothesis."""
    merged = {**snapshot(hypothesis), **changes}
    fields = validate(merged, taxonomy)
    return update(session, hypothesis, fields=fields, reason=reason, actor=actor, source=source)


def set_lifecycle(
    session: Session,
    hypothesis: Hypothesis,
    *,
    reason: str,
    actor: str,
    source: str,
    **values: str | None,
) -> Event | None:
    """Move phase, status or confidence alone (the lifecycle, a retirement), with the reason recorded."""
    unknown = set(values) - set(LIFECYCLE_FIELDS)
    if unknown:
        raise TypeError(f"not lifecycle fields: {sorted(unknown)}")
    new = {**snapshot(hypothesis), **values}
    return _apply(session, hypothesis, new, reason=reason, actor=actor, source=source)


def retire(session: Session, hypothesis: Hypothesis, *, reason: str, actor: str, source: str) -> Event | None:
    return set_lifecycle(session, hypothesis, status="retired", reason=reason, actor=actor, source=source)


def add_reading(
    session: Session,
    hypothesis: Hypothesis,
    *,
    value: float,
    on: date,
    reading_source: str | None,
    actor: str,
    source: str,
) -> tuple[Reading, Event]:
    """One observation of the hypothesis's measure."""
    reading = Reading(hypothesis_id=hypothesis.id, value=value, date=on, source=reading_source, actor=actor)
    session.add(reading)
    session.flush()
    data = ReadingRecorded(
        epic=hypothesis.epic_key,
        reading=reading.id,
        measure=(hypothesis.measure or {}).get("name"),
        value=value,
        date=on.isoformat(),
        source=reading_source,
    )
    return reading, _log(session, Kind.READING_RECORDED, subject_of(hypothesis), data, actor=actor, source=source)


def record_invalid(
    session: Session,
    *,
    epic_key: str,
    data: dict[str, Any],
    actor: str,
    source: str,
) -> Event:
    """A hypothesis that could not be accepted (a block in a tracker): logged on the epic so the author can be told."""
    rejected = HypothesisRejected(epic=epic_key, **data)
    return _log(session, Kind.HYPOTHESIS_INVALID, epic_key, rejected, actor=actor, source=source)
