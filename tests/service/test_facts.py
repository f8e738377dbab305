"""Facts answered with SQL, on SQLite and on PostgreSQL (avg() differs: float there, Decimal here)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from rules.facts import CATALOGUE
from service.domain import taxonomy
from service.facts import SqlFacts, UnknownFact
from service.runtime import runtime
from tests.service import scenario as s

TAXONOMY = taxonomy.load()


def facts_for(session, event, now=s.T0):  # type: ignore[no-untyped-def]
    return SqlFacts(session, event, now, TAXONOMY)


def test_epic_and_hypothesis_facts(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2", "Online appeals")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-30")
        h1 = s.hypothesis(session, "jira:PORT-1", status="proposed")
        s.hypothesis(session, "jira:PORT-1", status="refuted")
        s.hypothesis(session, "jira:PORT-2", status="retired")

        child = facts_for(session, s.event("ticket.updated", "jira:PORT-11"))
        assert child.get("epic.key") == "jira:PORT-1"
        assert child.get("ticket.is_epic") is False
        assert child.get("epic.title") == "Publish refusal rules"
        assert child.get("epic.active_hypotheses") == 1
        assert child.get("epic.active_hypothesis_ids") == [h1]
        assert child.get("epic.has_active_hypothesis") is True
        assert child.get("epic.hypotheses") == 2

        the_epic = facts_for(session, s.event("ticket.closed", "jira:PORT-2", is_epic=True))
        assert the_epic.get("epic.key") == "jira:PORT-2"
        assert the_epic.get("ticket.is_epic") is True
        assert the_epic.get("epic.has_active_hypothesis") is False  # retired does not count

        orphan = facts_for(session, s.event("ticket.updated", "jira:PORT-30", epic=None))
        assert orphan.get("epic.key") is None
        assert orphan.get("epic.active_hypotheses") == 0

        # The event's word wins over state not yet written by the pipeline.
        linked = facts_for(session, s.event("epic.linked", "jira:PORT-30", epic="jira:PORT-2"))
        assert linked.get("epic.key") == "jira:PORT-2"


def test_label_facts(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        known = facts_for(session, s.event("label.added", "jira:PORT-11", label="value-risk/privacy"))
        assert known.get("label.in_taxonomy") is True
        assert known.get("label.polarity") == "value-risk"
        assert known.get("label.dimension") == "privacy-security"
        unknown = facts_for(session, s.event("label.unknown", "jira:PORT-11", label="value:transparancy"))
        assert unknown.get("label.in_taxonomy") is False
        assert unknown.get("label.is_value_label") is True
        other = facts_for(session, s.event("label.added", "jira:PORT-11", label="bug"))
        assert other.get("label.is_value_label") is False and other.get("label.polarity") is None


def test_iteration_answer_means_drops_and_divergence(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        h = s.hypothesis(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/1", 1, state="closed")
        s.sprint(session, "jira:sprint/2", 2)
        first = s.round_(session, h, "jira:sprint/1")
        s.answers(session, first.id, "citizen", 1, 2)
        s.answers(session, first.id, "civil-servant", 0)
        second = s.round_(session, h, "jira:sprint/2", opened_at=s.T0 + s.SPRINT)
        s.answers(session, second.id, "citizen", -1, -2)
        s.answers(session, second.id, "civil-servant", 1, 0)
        # Another epic in the same sprint whose citizens are happy: it must not hide PORT-1's trouble.
        s.epic(session, "jira:PORT-2")
        other = s.round_(session, s.hypothesis(session, "jira:PORT-2"), "jira:sprint/2", opened_at=s.T0 + s.SPRINT)
        s.answers(session, other.id, "citizen", 2, 2, 2, 2)

        now = facts_for(session, s.event("checkin.answered", f"checkin-round:{second.id}", round=second.id))
        assert now.get("iteration.key") == "jira:sprint/2"
        means = now.get("iteration.group_means")
        assert means == {"citizen": -1.5, "civil-servant": 0.5}
        assert all(type(v) is float for v in means.values())
        assert now.get("iteration.answer_mean.citizen") == -1.5
        assert now.get("iteration.answer_mean.user") is None
        assert now.get("iteration.min_group_mean") == -1.5
        assert now.get("iteration.min_group") == "citizen"
        assert now.get("iteration.answer_mean_drop.citizen") == pytest.approx(3.0)
        assert now.get("iteration.answer_mean_drop.civil-servant") == pytest.approx(-0.5)
        assert now.get("iteration.max_drop") == pytest.approx(3.0)
        assert now.get("iteration.max_drop_group") == "citizen"
        assert now.get("iteration.divergence") == pytest.approx(2.0)
        assert now.get("hypothesis.id") == h and now.get("hypothesis.epic") == "jira:PORT-1"
        assert now.get("epic.key") == "jira:PORT-1"

        before = facts_for(session, s.event("checkin.answered", f"checkin-round:{first.id}", round=first.id))
        assert before.get("iteration.max_drop") is None  # no earlier iteration to compare with

        happy = facts_for(session, s.event("checkin.answered", f"checkin-round:{other.id}", round=other.id))
        assert happy.get("iteration.group_means") == {"citizen": 2.0}
        assert happy.get("iteration.max_drop") is None  # PORT-2 had no answers in sprint 1

        # Without a hypothesis (e.g. iteration.closed) the whole iteration counts.
        whole = facts_for(session, s.event("iteration.closed", "jira:sprint/2"))
        assert whole.get("iteration.group_means") == pytest.approx({"citizen": 5 / 6, "civil-servant": 0.5})
        assert whole.get("iteration.answer_mean_drop.citizen") == pytest.approx(1.5 - 5 / 6)


def test_one_group_has_no_divergence(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/1", 1)
        only = s.round_(session, s.hypothesis(session, "jira:PORT-1"), "jira:sprint/1")
        s.answers(session, only.id, "citizen", 2, -2)
        facts = facts_for(session, s.event("checkin.answered", "x", round=only.id))
        assert facts.get("iteration.divergence") is None
        assert facts.get("iteration.group_means") == {"citizen": 0.0}


def test_iteration_epics_and_hypotheses(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2")
        s.epic(session, "jira:PORT-3")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-12", "jira:PORT-1")
        s.ticket(session, "jira:PORT-40")  # no epic
        h1 = s.hypothesis(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/5", 5)
        for key in ("jira:PORT-11", "jira:PORT-12", "jira:PORT-40", "jira:PORT-2"):
            s.join(session, key, "jira:sprint/5")
        facts = facts_for(session, s.event("iteration.started", "jira:sprint/5"))
        assert facts.get("iteration.epics") == ["jira:PORT-1", "jira:PORT-2"]
        assert facts.get("iteration.active_hypothesis_ids") == [h1]
        assert facts.get("iteration.epics_without_active_hypothesis") == ["jira:PORT-2"]
        assert facts.get("iteration.name") == "Sprint 5"
        joined = facts_for(session, s.event("iteration.joined", "jira:PORT-12", iteration="jira:sprint/5"))
        assert joined.get("iteration.key") == "jira:sprint/5" and joined.get("epic.key") == "jira:PORT-1"


def test_touched_dimensions_streak(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "github:acme/portal#1")
        for n, labels in enumerate(
            [
                ["value:transparency"],
                ["value:efficiency"],
                ["value:efficiency", "value-risk:privacy-security"],
                ["value:efficiency"],
            ],
            start=1,
        ):
            key = f"github:acme/portal/milestone/{n}"
            s.sprint(session, key, n, state="closed")
            s.ticket(session, f"github:acme/portal#{10 + n}", "github:acme/portal#1", labels)
            s.join(session, f"github:acme/portal#{10 + n}", key)
        s.sprint(session, "github:other/repo/milestone/9", 3, state="closed")  # another board: not in the row

        def streak(n: int) -> tuple[int, str | None]:
            f = facts_for(session, s.event("iteration.closed", f"github:acme/portal/milestone/{n}", source="github"))
            return f.get("iteration.touched_dimensions_streak"), f.get("iteration.only_dimension")

        assert streak(1) == (1, "transparency")
        assert streak(2) == (1, "efficiency")
        assert streak(3) == (2, "efficiency")  # value-risk labels do not count as touching a value
        assert streak(4) == (3, "efficiency")
        f = facts_for(session, s.event("iteration.closed", "github:acme/portal/milestone/4", source="github"))
        assert f.get("iteration.touched_dimensions") == ["efficiency"]


def test_jira_streak_follows_one_board_not_the_site(any_app: Flask) -> None:
    """Jira sprint ids are site-wide: board 7's sprints 1, 3, 5 are in a row, board 8's sprints 2, 4 are not in it."""
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        for n in range(1, 6):
            board = "7" if n % 2 else "8"
            sprint = s.sprint(session, f"jira:sprint/{n}", n, state="closed")
            sprint.board = board
            labels = ["value:efficiency"] if board == "7" else ["value:transparency"]
            s.ticket(session, f"jira:PORT-{10 + n}", "jira:PORT-1", labels)
            s.join(session, f"jira:PORT-{10 + n}", f"jira:sprint/{n}")
        session.flush()
        f = facts_for(session, s.event("iteration.closed", "jira:sprint/5", source="jira"))
        assert (f.get("iteration.touched_dimensions_streak"), f.get("iteration.only_dimension")) == (3, "efficiency")


def test_round_response_rate_and_elapsed(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        h = s.hypothesis(session, "jira:PORT-1", owner="maria")
        r = s.round_(session, h, None, deadline=timedelta(days=10), kind="ex-post")
        empty = facts_for(session, s.event("clock.open_round", f"checkin-round:{r.id}", round=r.id))
        assert empty.get("round.response_rate") is None  # nobody asked yet
        s.prompts(session, r.id, "citizen", sent=4, answered=1)
        s.prompts(session, r.id, "civil-servant", sent=1, answered=0)
        later = facts_for(session, s.event("clock.open_round", "x", round=r.id), now=s.T0 + timedelta(days=6))
        assert later.get("round.response_rate") == pytest.approx(0.2)
        assert later.get("round.elapsed") == pytest.approx(0.6)
        assert later.get("round.kind") == "ex-post" and later.get("round.status") == "open"
        assert later.get("hypothesis.owner") == "maria"
        r.response_rate = 0.9  # a recorded rate (set when the round closes) wins
        session.flush()
        recorded = facts_for(session, s.event("clock.open_round", "x", round=r.id))
        assert recorded.get("round.response_rate") == 0.9


def test_every_catalogued_fact_has_an_answer(app: Flask) -> None:
    with runtime(app).transaction() as session:
        facts = facts_for(session, s.event("ticket.updated", "jira:NOPE-1"))
        for spec in CATALOGUE.values():
            name = f"{spec.name}.citizen" if spec.parameter else spec.name
            facts.get(name)  # no KeyError, no SQL error on an empty database
        with pytest.raises(UnknownFact):
            facts.get("epic.colour")
