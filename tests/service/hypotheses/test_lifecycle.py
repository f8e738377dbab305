"""Phase moves ex-ante -> during -> ex-post (and back on reopen), each move logged with old and new values."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain.taxonomy import load
from service.hypotheses import commands, lifecycle
from service.hypotheses.schema import HypothesisInvalid, validate
from service.storage.models import Epic, Hypothesis, ValueLogEntry
from tests.epics import add_epic

EPIC = "jira:BEN-12"
SPRINT = "jira:sprint/37"


def _state(rt):
    with rt.transaction() as session:
        epic = session.get(Epic, EPIC)
        phases = [h.phase for h in session.scalars(select(Hypothesis).order_by(Hypothesis.id))]
        return epic.phase, epic.closed_at is not None, phases


def _setup(rt) -> None:
    with rt.transaction() as session:
        add_epic(session, EPIC)
        for statement in ("fewer appeals", "less staff time", "dropped idea"):
            fields = validate({"statement": statement, "dimensions": ["outcomes"]}, load())
            hypothesis, _ = commands.create(
                session, epic_key=EPIC, fields=fields, origin="api", actor="token:po", source="api"
            )
        commands.retire(session, hypothesis, reason="merged into the first one", actor="token:po", source="api")


def test_full_cycle(rt) -> None:
    _setup(rt)
    with rt.transaction() as session:
        events = lifecycle.on_iteration_work(
            session, epic_key=EPIC, iteration_key=SPRINT, actor="jira:maria", source="jira"
        )
    assert [e.kind for e in events] == ["epic.phase_changed", "hypothesis.updated", "hypothesis.updated"]
    assert events[0].data.plain()["changes"] == {"phase": {"old": "ex-ante", "new": "during"}}
    assert events[0].data.plain()["iteration"] == SPRINT
    assert events[1].data.plain()["reason"] == f"first iteration with work on the epic: {SPRINT}"
    # The retired hypothesis stays where it was.
    assert _state(rt) == ("during", False, ["during", "during", "ex-ante"])

    with rt.transaction() as session:  # a second sprint with work changes nothing
        assert (
            lifecycle.on_iteration_work(
                session, epic_key=EPIC, iteration_key="jira:sprint/38", actor="jira:maria", source="jira"
            )
            == []
        )

    with rt.transaction() as session:
        events = lifecycle.on_epic_closed(session, epic_key=EPIC, actor="jira:maria", source="jira")
    assert [e.data.plain()["changes"]["phase"] for e in events] == [{"old": "during", "new": "ex-post"}] * 3
    assert _state(rt) == ("ex-post", True, ["ex-post", "ex-post", "ex-ante"])

    with rt.transaction() as session:
        events = lifecycle.on_epic_reopened(session, epic_key=EPIC, actor="jira:maria", source="jira")
    assert events[0].data.plain() == {
        "epic": EPIC,
        "changes": {"phase": {"old": "ex-post", "new": "during"}},
        "reason": "the epic was reopened",
    }
    assert _state(rt) == ("during", False, ["during", "during", "ex-ante"])

    with rt.transaction() as session:
        logged = list(session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "epic.phase_changed")))
    assert [(e.subject, e.data["changes"]["phase"]["new"], e.actor) for e in logged] == [
        (EPIC, "during", "jira:maria"),
        (EPIC, "ex-post", "jira:maria"),
        (EPIC, "during", "jira:maria"),
    ]


def test_closing_an_epic_that_never_had_work_goes_straight_to_ex_post(rt) -> None:
    _setup(rt)
    with rt.transaction() as session:
        lifecycle.on_epic_closed(session, epic_key=EPIC, actor="github:octocat", source="github")
        assert lifecycle.on_epic_closed(session, epic_key=EPIC, actor="github:octocat", source="github") == []
    assert _state(rt)[0] == "ex-post"


def test_status_change_needs_a_reason_and_retire_is_logged(rt) -> None:
    _setup(rt)
    with rt.transaction() as session:
        first = session.scalars(select(Hypothesis).order_by(Hypothesis.id)).first()
        with pytest.raises(HypothesisInvalid) as caught:
            commands.patch(
                session, first, changes={"status": "active"}, reason=" ", taxonomy=load(), actor="t", source="api"
            )
        assert caught.value.problems[0].path == "reason"
        event = commands.patch(
            session,
            first,
            changes={"status": "supported", "confidence": "on track"},
            reason="appeals down to 9 %",
            taxonomy=load(),
            actor="token:po",
            source="api",
        )
        assert event.kind == "hypothesis.updated"
        assert event.data.plain()["changes"] == {
            "status": {"old": "proposed", "new": "supported"},
            "confidence": {"old": None, "new": "on track"},
        }
        retired = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "hypothesis.retired")).one()
        assert retired.data["reason"] == "merged into the first one"
        assert retired.data["changes"]["status"] == {"old": "proposed", "new": "retired"}
