"""The value case of an epic against the hand-computed sprint (tests/service/summaries/sprint.py), on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.kinds import Kind
from service.domain.taxonomy import load_for
from service.runtime import runtime
from service.storage.models import Epic, Hypothesis
from service.summaries.case import Case, UnknownEpic, to_markdown, value_case
from service.valuelog import chain
from tests.conftest import token_for
from tests.service import scenario
from tests.service.summaries import sprint


@pytest.fixture
def built(any_app: Flask) -> tuple[Flask, sprint.Sprint]:
    rt = runtime(any_app)
    with rt.transaction() as session:
        ids = sprint.build(session, rt.settings, load_for(None))
        # The epic moved into delivery at the start of sprint 37, and a rule raised a divergence alert in it.
        chain.append(
            session,
            kind=Kind.EPIC_PHASE_CHANGED,
            subject="jira:PRM-1",
            data={
                "epic": "jira:PRM-1",
                "changes": {"phase": {"old": "ex-ante", "new": "during"}},
                "reason": "work began",
            },
            actor="worker",
            source="jira",
            at=sprint.S37_START + timedelta(days=1),
        )
        chain.append(
            session,
            kind=Kind.VALUE_ALERT,
            subject="jira:PRM-1",
            data={
                "type": "divergence",
                "iteration": sprint.SPRINT_37,
                "rule": "divergence-alert",
                "text": "Groups disagree",
            },
            actor="rules",
            source="rules",
            at=sprint.S37_END,
        )
        session.get(Epic, "jira:PRM-1").phase = "during"  # type: ignore[union-attr]
        scenario_risk(session)
    return any_app, ids


def scenario_risk(session: Session) -> None:
    h1 = session.scalar(select(Hypothesis).where(Hypothesis.epic_key == "jira:PRM-1"))
    h1.risks = [
        {"dimension": "privacy-security", "description": "Refusal letters name third parties", "watch": "complaints"}
    ]


def _case(app: Flask, key: str = "jira:PRM-1") -> Case:
    with runtime(app).transaction() as session:
        return value_case(session, key)


def test_the_case_follows_the_hypothesis_from_statement_to_now_with_reasons(built: tuple[Flask, sprint.Sprint]) -> None:
    case = _case(built[0])
    assert (case.title, case.phase) == ("Publish refusal rules", "during")
    assert [(p.old, p.new, p.reason) for p in case.phase_changes] == [("ex-ante", "during", "work began")]
    [h1] = case.hypotheses
    assert h1.id == built[1].h1
    # Made active in sprint 37 for the pilot, supported after it (the scenario states it without a log entry).
    steps = [(s.field, s.old, s.new, s.reason) for s in h1.history]
    assert steps == [("status", "proposed", "active", "pilot"), ("status", "active", "supported", "appeals fell")]


def test_the_case_shows_readings_against_baseline_and_target(built: tuple[Flask, sprint.Sprint]) -> None:
    measure = _case(built[0]).hypotheses[0].measure
    assert measure is not None
    assert (measure.name, measure.baseline, measure.target) == ("refusals appealed", 0.18, 0.10)
    # Every reading, the one after the sprint too: 0.17, 0.15, 0.12; 0.12 is (0.12-0.18)/(0.10-0.18) = 75 % there.
    assert [r.value for r in measure.readings] == [0.17, 0.15, 0.12]
    assert measure.progress == pytest.approx(0.75)


def test_each_round_has_its_answers_per_group(built: tuple[Flask, sprint.Sprint]) -> None:
    rounds = _case(built[0]).hypotheses[0].rounds
    assert [r.iteration for r in rounds] == [sprint.SPRINT_36, sprint.SPRINT_37]
    s36, s37 = ({g.group: (g.answers, g.mean) for g in r.groups} for r in rounds)
    assert s36 == {"citizen": (2, 2.0), "civil-servant": (1, 0.0)}
    # R1: Anna +1 (her -1 replaced), Ben +2 -> citizen 1.5; Clara -2, Dan silent -> civil-servant -2.
    assert s37 == {"citizen": (2, 1.5), "civil-servant": (1, -2.0)}
    assert rounds[1].response_rate == pytest.approx(3 / 4)
    assert rounds[1].divergence == pytest.approx(3.5)


def test_alerts_trade_offs_and_open_risks(built: tuple[Flask, sprint.Sprint]) -> None:
    case = _case(built[0])
    assert [(a.type, a.text) for a in case.alerts] == [("divergence", "Groups disagree")]
    assert case.trade_offs == [{"hypothesis": built[1].h1, "dimension": "efficiency"}]
    assert [(r.source, r.dimension, r.text) for r in case.risks] == [
        ("hypothesis", "privacy-security", "Refusal letters name third parties · complaints")
    ]
    # PRM-4's value-risk label belongs to the other epic's case.
    other = _case(built[0], "jira:PRM-10")
    assert [(r.source, r.ticket, r.dimension) for r in other.risks] == [("label", "jira:PRM-4", "privacy-security")]
    assert other.alerts == [] and other.phase_changes == []


def test_the_markdown_case_reads_as_a_document(built: tuple[Flask, sprint.Sprint]) -> None:
    text = to_markdown(_case(built[0]))
    assert text.startswith("# Value case: Publish refusal rules\n")
    assert "ex-ante → during (work began)" in text
    assert "status proposed → active (pilot)" in text and "status active → supported (appeals fell)" in text
    assert "| date | reading | baseline | target | source |" in text
    assert "| 0.15 | 0.18 | 0.10 | case system |" in text
    assert "| citizen | 2 | 2 | +1.50 |" in text
    assert "divergence: Groups disagree" in text
    assert "Hypothesis" in text and "accepts less efficiency" in text
    assert "Refusal letters name third parties" in text


def test_an_unknown_epic_says_how_epics_become_known(built: tuple[Flask, sprint.Sprint]) -> None:
    with pytest.raises(UnknownEpic, match="when their tracker sends a webhook"):
        _case(built[0], "jira:NOPE-1")


def test_an_epic_without_hypotheses_says_what_to_do(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        scenario.epic(session, "jira:EMPTY-1", "Nothing stated")
    case = _case(any_app, "jira:EMPTY-1")
    assert case.hypotheses == [] and "state one on the epic's page" in case.notes[0]
    assert "No alert was raised" in to_markdown(case)


def test_the_api_answers_the_case_as_json_or_markdown(built: tuple[Flask, sprint.Sprint]) -> None:
    app = built[0]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(app, 'auditor')}"}
    found = client.get("/api/v1/epics/jira:PRM-1/case", headers=headers)
    assert found.status_code == 200 and found.get_json()["hypotheses"][0]["id"] == built[1].h1
    markdown = client.get("/api/v1/epics/jira:PRM-1/case?format=md", headers=headers)
    assert markdown.content_type.startswith("text/markdown")
    assert markdown.get_data(as_text=True).startswith("# Value case: Publish refusal rules")
    assert client.get("/api/v1/epics/jira:PRM-1/case?format=pdf", headers=headers).status_code == 422
    missing = client.get("/api/v1/epics/jira:NOPE-1/case", headers=headers)
    assert missing.status_code == 404 and "GET /api/v1/epics" in missing.get_data(as_text=True)
