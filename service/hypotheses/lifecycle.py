"""The ex-ante -> during -> ex-post cycle of an epic and its hypotheses, moved by tracker events.

Phase moves to `during` the first time work on the epic is in an iteration, to `ex-post` when the epic closes, and
back to `during` when it is reopened. Each move is a value-log entry holding the old and new values: one for the
epic (`epic.phase_changed`) and one per hypothesis that is not retired (`hypothesis.updated`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import valuelog
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import PhaseChange
from service.hypotheses import commands
from service.storage.models import Epic, Hypothesis


def _move(
    session: Session,
    epic: Epic,
    *,
    to: str,
    allowed_from: tuple[str, ...],
    reason: str,
    actor: str,
    source: str,
    extra: dict[str, str] | None = None,
) -> list[Event]:
    if epic.phase not in allowed_from:
        return []
    old = epic.phase
    epic.phase = to
    data = PhaseChange(epic=epic.key, changes={"phase": {"old": old, "new": to}}, reason=reason, **(extra or {}))
    valuelog.append(
        session, kind=Kind.EPIC_PHASE_CHANGED, subject=epic.key, data=data.logged(), actor=actor, source=source
    )
    happened = [Event(Kind.EPIC_PHASE_CHANGED, source, epic.key, actor, occurred_at=datetime.now(UTC), data=data)]
    hypotheses = session.scalars(
        select(Hypothesis)
        .where(Hypothesis.epic_key == epic.key, Hypothesis.status != "retired")
        .order_by(Hypothesis.id)
    )
    for hypothesis in hypotheses:
        event = commands.set_lifecycle(session, hypothesis, phase=to, reason=reason, actor=actor, source=source)
        if event is not None:
            happened.append(event)
    return happened


def on_iteration_work(session: Session, *, epic_key: str, iteration_key: str, actor: str, source: str) -> list[Event]:
    """Work on the epic is in an iteration: ex-ante -> during, the first time only."""
    epic = commands.require_epic(session, epic_key)
    return _move(
        session,
        epic,
        to="during",
        allowed_from=("ex-ante",),
        reason=f"first iteration with work on the epic: {iteration_key}",
        actor=actor,
        source=source,
        extra={"iteration": iteration_key},
    )


def on_epic_closed(session: Session, *, epic_key: str, actor: str, source: str) -> list[Event]:
    """The epic closed: -> ex-post, the time to judge the value it created."""
    epic = commands.require_epic(session, epic_key)
    epic.closed_at = datetime.now(UTC)
    return _move(
        session,
        epic,
        to="ex-post",
        allowed_from=("ex-ante", "during"),
        reason="the epic was closed",
        actor=actor,
        source=source,
    )


def on_epic_reopened(session: Session, *, epic_key: str, actor: str, source: str) -> list[Event]:
    """The epic was reopened: ex-post -> during again."""
    epic = commands.require_epic(session, epic_key)
    epic.closed_at = None
    return _move(
        session,
        epic,
        to="during",
        allowed_from=("ex-post",),
        reason="the epic was reopened",
        actor=actor,
        source=source,
    )
