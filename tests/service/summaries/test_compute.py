"""The sprint value summary against a hand-computed sprint (tests/service/summaries/sprint.py), on both engines."""

from __future__ import annotations

import math

import pytest
from flask import Flask

from service.domain.taxonomy import load_for
from service.runtime import runtime
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.summaries.model import Summary
from tests.service import scenario
from tests.service.summaries import sprint


@pytest.fixture
def built(any_app: Flask) -> tuple[Flask, sprint.Sprint]:
    rt = runtime(any_app)
    with rt.transaction() as session:
        ids = sprint.build(session, rt.settings, load_for(None))
    return any_app, ids


def _summary(app: Flask, key: str = sprint.SPRINT_37, framework: str | None = None) -> Summary:
    rt = runtime(app)
    with rt.transaction() as session:
        return summarise(session, load_for(None), key, framework)


def test_work_by_dimension_counts_tickets_and_jira_story_points(built: tuple[Flask, sprint.Sprint]) -> None:
    work = _summary(built[0]).work
    # PRM-2..6 (PRM-7 left): 5 tickets, 3 done (2, 4, 5); points 5+3+8+2 = 18, done 5+8+2 = 15.
    assert (work.tickets, work.done, work.points, work.done_points) == (5, 3, 18.0, 15.0)
    assert (work.tagged, work.untagged, work.untagged_share) == (3, 2, 0.4)
    rows = [(d.dimension, d.tickets, d.done, d.points, d.done_points) for d in work.by_dimension]
    assert rows == [
        ("transparency", 2, 1, 8.0, 5.0),
        ("efficiency", 1, 1, 8.0, 8.0),
        ("trust-legitimacy", 1, 1, 5.0, 5.0),
    ]
    assert [(r.ticket, r.dimension) for r in work.risks] == [("jira:PRM-4", "privacy-security")]


def test_answers_per_group_count_the_latest_answer_and_mark_late_ones(built: tuple[Flask, sprint.Sprint]) -> None:
    summary = _summary(built[0])
    groups = {g.group: g for g in summary.groups}
    # citizen: Anna +1 (her -1 replaced) and Ben +2 on R1, Anna -2 on R2 -> mean 1/3, pstdev of (1, 2, -2).
    citizen = groups["citizen"]
    assert (citizen.asked, citizen.answered, citizen.answers, citizen.late) == (3, 3, 3, 0)
    assert citizen.mean == pytest.approx(1 / 3)
    assert citizen.spread == pytest.approx(math.sqrt(((2 / 3) ** 2 + (5 / 3) ** 2 + (7 / 3) ** 2) / 3))
    assert (citizen.lowest, citizen.highest) == (-2, 2)
    # civil-servant: Clara -2, Dan silent.
    servant = groups["civil-servant"]
    assert (servant.asked, servant.answered, servant.answers, servant.mean, servant.spread) == (2, 1, 1, -2.0, 0.0)
    developer = groups["it-developer"]
    assert (developer.answers, developer.late, developer.mean) == (1, 1, 1.0)
    assert summary.divergence == pytest.approx(3.0)  # +1 (developer) - (-2) (civil servant)
    assert (summary.response.asked, summary.response.answered) == (6, 5)
    assert summary.response.rate == pytest.approx(5 / 6)


def test_hypotheses_show_their_state_at_the_sprint_end_and_the_measure_against_target(
    built: tuple[Flask, sprint.Sprint],
) -> None:
    app, ids = built
    hypotheses = {h.id: h for h in _summary(app).hypotheses}
    h1 = hypotheses[ids.h1]
    assert h1.status == "active"  # "supported" was logged after the sprint ended
    assert [(c.field, c.old, c.new, c.reason) for c in h1.changes] == [("status", "proposed", "active", "pilot")]
    assert h1.measure is not None
    assert (h1.measure.baseline, h1.measure.target) == (0.18, 0.10)
    assert h1.measure.before is not None and h1.measure.before.value == 0.17
    assert h1.measure.latest is not None and h1.measure.latest.value == 0.15  # not the later 0.12
    assert h1.measure.movement == "toward the target"
    assert h1.measure.progress == pytest.approx((0.15 - 0.18) / (0.10 - 0.18))
    assert h1.response_rate == pytest.approx(3 / 4)
    assert h1.divergence == pytest.approx(1.5 - -2.0)  # citizens (1 + 2) / 2, civil servant -2
    assert h1.trade_offs == ["efficiency"]
    h2 = hypotheses[ids.h2]
    assert h2.not_asked == ["civil-servant"]
    assert h2.measure is None


def test_value_destroyed_is_shown_with_who_is_worse_off_unless_erased(built: tuple[Flask, sprint.Sprint]) -> None:
    app, ids = built
    summary = _summary(app)
    signals = {(s.hypothesis, s.group): s for s in summary.signals}
    assert set(signals) == {(ids.h1, "civil-servant"), (ids.h2, "citizen")}
    # Sprint 36's civil-servant mean was 0: a fall of 2, and a mean at -2.
    assert signals[(ids.h1, "civil-servant")].previous_mean == 0.0
    assert "fell by 2.00" in signals[(ids.h1, "civil-servant")].reason
    texts = {(w.hypothesis, w.group): w.text for w in summary.worse_off}
    assert texts == {
        (ids.h1, "civil-servant"): "Applicants without a bank ID cannot appeal online",
        (ids.h2, "citizen"): None,  # Anna asked to be erased: the score stays, the text is gone
    }
    assert summary.erased_texts == 2  # Anna's current answers in both rounds
    assert summary.not_asked == ["civil-servant"]
    assert summary.trade_offs == [{"hypothesis": ids.h1, "epic": "jira:PRM-1", "dimension": "efficiency"}]


def test_trend_shows_the_earlier_sprint_of_the_same_board(built: tuple[Flask, sprint.Sprint]) -> None:
    trend = _summary(built[0]).trend
    assert [p.key for p in trend] == [sprint.SPRINT_36, sprint.SPRINT_37]
    assert trend[0].group_means == {"citizen": 2.0, "civil-servant": 0.0}
    assert trend[0].answers == 3 and trend[0].tickets == 0 and trend[0].untagged_share is None


def test_framework_regroups_dimensions_and_unknown_ones_are_named(built: tuple[Flask, sprint.Sprint]) -> None:
    app = built[0]
    taxonomy = load_for(None)
    framework = sorted(taxonomy.frameworks)[0]
    regrouped = _summary(app, framework=framework).work.by_category
    assert regrouped is not None and sum(regrouped.values()) >= 4  # every labelled ticket lands in a category
    with pytest.raises(UnknownFramework, match=framework):
        _summary(app, framework="nope")
    with pytest.raises(UnknownIteration, match="jira:sprint/37"):
        _summary(app, key="jira:sprint/99")


def test_an_iteration_without_work_or_answers_says_so_in_words(app: Flask) -> None:
    rt = runtime(app)
    with rt.transaction() as session:
        scenario.sprint(session, "github:acme/portal/milestone/3", 1)
    summary = _summary(app, "github:acme/portal/milestone/3")
    assert summary.work.untagged_share is None and summary.response.rate is None and summary.divergence is None
    assert "No tickets were in this iteration." in summary.notes
    assert "Nobody was asked in this iteration, and no answers were given." in summary.notes
