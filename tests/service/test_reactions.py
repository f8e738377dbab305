"""The default pack on a realistic sequence: each rule shown firing and not firing, with what it wrote."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.actions import ACTIONS, Action, ActionContext, register_action
from rules.errors import Where
from rules.loader import BUILTIN_DIR, load_folders, load_rules
from service.clock import build_scheduler, scheduled_rules
from service.reactions import FAILED, FIRED, evaluate, react, run_scheduled
from service.runtime import Runtime, runtime
from service.storage.models import CheckinRound, ClockRun, OutboxItem, ValueLogEntry
from tests.conftest import build_app, make_settings
from tests.service import scenario as s

DEFAULT_HASH = hashlib.sha256((BUILTIN_DIR / "default.yaml").read_bytes()).hexdigest()


def fire(app: Flask, session: Session, *events: Any, now: datetime = s.T0, rules: Any = None) -> list[Any]:
    """Every rule whose trigger matched, with its status (react() itself returns the fired and failed ones)."""
    return evaluate(session, list(events), settings=runtime(app).settings, now=now, rules=rules, cause="delivery:7")


def outbox(session: Session) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id))
    return [(r.tracker, r.action, r.target, r.body) for r in rows]


def log_entries(session: Session, kind: str) -> list[ValueLogEntry]:
    return list(session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == kind).order_by(ValueLogEntry.seq)))


def fired_ids(firings: list[Any]) -> list[str]:
    return [f.rule_id for f in firings if f.status == FIRED]


# --- ex ante ------------------------------------------------------------------------------------------------


def test_ex_ante_nudge_when_work_joins_an_iteration(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-12", "jira:PORT-1")
        s.sprint(session, "jira:sprint/37", 1, state="future", name="Sprint 37")
        s.join(session, "jira:PORT-11", "jira:sprint/37")

        firings = fire(any_app, session, s.event("iteration.joined", "jira:PORT-11", iteration="jira:sprint/37"))
        assert fired_ids(firings) == ["ex-ante-nudge"]
        [(tracker, action, target, body)] = outbox(session)
        assert (tracker, action, target) == ("jira", "comment", "jira:PORT-1")
        assert "joined Sprint 37" in body["text"] and "```value-hypothesis" in body["text"]
        [entry] = log_entries(session, "rule.fired")
        assert entry.subject == "jira:PORT-11" and entry.actor == "rule:ex-ante-nudge" and entry.source == "rules"
        assert entry.data["rule"] == "ex-ante-nudge"
        assert entry.data["pack"] == "default.yaml" and entry.data["pack_sha256"] == DEFAULT_HASH
        assert entry.data["event"] == {"kind": "iteration.joined", "subject": "jira:PORT-11", "source": "jira"}
        assert entry.data["actions"][0]["comments"][0]["target"] == "jira:PORT-1"
        assert session.scalar(select(OutboxItem.cause)) == "rule:ex-ante-nudge delivery:7"

        # A second ticket of the same epic joining the same sprint: once per epic and iteration.
        s.join(session, "jira:PORT-12", "jira:sprint/37")
        again = fire(any_app, session, s.event("iteration.joined", "jira:PORT-12", iteration="jira:sprint/37"))
        assert [(f.rule_id, f.status) for f in again] == [
            ("ex-ante-nudge", "already-fired"),
            ("iteration-checkin-round", "not-matched"),  # a future sprint, and no hypothesis anyway
        ]
        assert len(outbox(session)) == 1

        # Once the epic has a hypothesis, work joining the next sprint is not nudged.
        s.hypothesis(session, "jira:PORT-1", status="proposed")
        s.sprint(session, "jira:sprint/38", 2, state="future")
        quiet = fire(any_app, session, s.event("iteration.joined", "jira:PORT-12", iteration="jira:sprint/38"))
        assert [f.status for f in quiet] == ["not-matched", "not-matched"]
        assert "epic.has_active_hypothesis eq False" in quiet[0].detail
        assert len(outbox(session)) == 1


def test_ex_ante_nudge_not_for_tickets_without_an_epic(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.ticket(session, "jira:PORT-40")
        s.sprint(session, "jira:sprint/37", 1)
        firings = fire(app, session, s.event("iteration.joined", "jira:PORT-40", iteration="jira:sprint/37"))
        assert fired_ids(firings) == [] and outbox(session) == []


def test_iteration_start_nudges_epics_without_hypothesis_and_opens_rounds(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2", "Online appeals")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-21", "jira:PORT-2")
        h1 = s.hypothesis(session, "jira:PORT-1", status="active")
        h1b = s.hypothesis(session, "jira:PORT-1", status="proposed")
        s.hypothesis(session, "jira:PORT-1", status="refuted")
        s.sprint(session, "jira:sprint/37", 1, name="Sprint 37")
        s.join(session, "jira:PORT-11", "jira:sprint/37")
        s.join(session, "jira:PORT-21", "jira:sprint/37")

        firings = fire(app, session, s.event("iteration.started", "jira:sprint/37"))
        assert fired_ids(firings) == ["ex-ante-nudge-at-start", "iteration-checkin-round"]
        [(_, action, target, body)] = outbox(session)
        assert (action, target) == ("comment", "jira:PORT-2")  # PORT-1 has hypotheses
        assert "Sprint 37 has started" in body["text"]
        rounds = session.scalars(select(CheckinRound).order_by(CheckinRound.id)).all()
        assert [(r.hypothesis_id, r.iteration_key, r.kind, r.unique_key, r.status) for r in rounds] == [
            (h1, "jira:sprint/37", "iteration", f"iteration:jira:sprint/37:{h1}", "open"),
            (h1b, "jira:sprint/37", "iteration", f"iteration:jira:sprint/37:{h1b}", "open"),
        ]
        assert rounds[0].deadline == s.T0 + timedelta(days=10)
        opened = log_entries(session, "checkin.opened")
        assert [e.data["round"] for e in opened] == [r.id for r in rounds]
        assert opened[0].subject == "jira:PORT-1"

        # The same event again (a redelivery): no second round, no second nudge.
        again = fire(app, session, s.event("iteration.started", "jira:sprint/37"))
        assert [f.status for f in again] == ["already-fired", "not-matched"]
        assert "iteration.hypotheses_without_round ne []" in again[1].detail  # every hypothesis has its round
        assert session.scalar(select(CheckinRound.id).order_by(CheckinRound.id.desc())) == rounds[-1].id
        assert len(outbox(session)) == 1


def test_iteration_start_with_every_epic_covered_only_opens_rounds(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.hypothesis(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/37", 1)
        s.join(session, "jira:PORT-1", "jira:sprint/37")  # the epic itself is in the sprint
        firings = fire(app, session, s.event("iteration.started", "jira:sprint/37"))
        assert [(f.rule_id, f.status) for f in firings] == [
            ("ex-ante-nudge-at-start", "not-matched"),
            ("iteration-checkin-round", "fired"),
        ]
        assert outbox(session) == []


# --- labels and hypotheses -----------------------------------------------------------------------------------


def test_unknown_value_label_gets_a_suggestion(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.ticket(session, "github:acme/portal#34")
        firings = fire(
            app,
            session,
            s.event(
                "label.unknown",
                "github:acme/portal#34",
                source="github",
                label="value:transparancy",
                suggestion="transparency",
            ),
            s.event(
                "label.unknown",
                "github:acme/portal#34",
                source="github",
                label="value-risk:privcy",
                suggestion="privacy-security",
            ),
            s.event("label.unknown", "github:acme/portal#34", source="github", label="value:zzz", suggestion=None),
        )
        assert fired_ids(firings) == ["unknown-value-label"] * 3
        texts = [body["text"] for (_, _, _, body) in outbox(session)]
        assert outbox(session)[0][:3] == ("github", "comment", "github:acme/portal#34")
        assert (
            texts[0]
            == "`value:transparancy` does not name a value dimension I know. Did you mean `value:transparency`?"
        )
        assert texts[1].endswith("Did you mean `value-risk:privacy-security`?")
        assert "Did you mean" not in texts[2] and "value taxonomy" in texts[2]
        # A known label is not an unknown one: the rule does not react to label.added.
        known = fire(
            app,
            session,
            s.event(
                "label.added",
                "github:acme/portal#34",
                source="github",
                label="value:transparency",
                dimension="transparency",
                polarity="value",
            ),
        )
        assert fired_ids(known) == [] and len(outbox(session)) == 3


def test_invalid_hypothesis_block_is_answered_with_its_errors(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        messages = ["statement: this field is required", "dimensions[1]: 'transparancy' is not a dimension"]
        firings = fire(
            app, session, s.event("hypothesis.invalid", "jira:PORT-1", epic="jira:PORT-1", messages=messages)
        )
        assert fired_ids(firings) == ["invalid-hypothesis"]
        [(_, action, target, body)] = outbox(session)
        assert (action, target) == ("comment", "jira:PORT-1")
        assert "- statement: this field is required\n- dimensions[1]: 'transparancy' is not a dimension" in body["text"]
        # A valid block does not get the reply.
        assert fired_ids(fire(app, session, s.event("hypothesis.created", "jira:PORT-1", epic="jira:PORT-1"))) == []


def test_value_risk_label_asks_for_mitigation_once(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.ticket(session, "jira:PORT-11")
        risk = s.event(
            "label.added",
            "jira:PORT-11",
            label="value-risk:privacy",
            dimension="privacy-security",
            polarity="value-risk",
        )
        assert fired_ids(fire(app, session, risk)) == ["value-risk-mitigation"]
        [(_, action, target, body)] = outbox(session)
        assert (action, target) == ("comment", "jira:PORT-11")
        assert "**privacy-security**" in body["text"] and "mitigation" in body["text"] and "watch" in body["text"]
        assert [f.status for f in fire(app, session, risk)] == ["already-fired"]
        positive = s.event(
            "label.added", "jira:PORT-11", label="value:privacy", dimension="privacy-security", polarity="value"
        )
        assert [f.status for f in fire(app, session, positive)] == ["not-matched"]
        assert len(outbox(session)) == 1


def test_an_alert_repeats_as_its_once_says_whichever_rule_raised_it_before(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "watch.yaml").write_text(
        "rules:\n"
        "  - id: per-iteration\n    on: iteration.joined\n"
        "    then: [{alert: {type: watch, text: 'joined', once: iteration}}]\n"
        "  - id: per-epic\n    on: iteration.left\n"
        "    then: [{alert: {type: watch, text: 'left', once: epic}}]\n"
        "  - id: every-time\n    on: comment.created\n"
        "    then: [{alert: {type: watch, text: 'said', once: always}}]\n"
    )
    ruleset = load_folders([tmp_path])

    def alert(event: Any) -> tuple[list[str], list[str]]:
        [firing] = fire(app, session, event, rules=ruleset)
        args = firing.actions[0].args
        return [c["text"] for c in args["comments"]], args["already_raised"]

    def joined(ticket: str, sprint: str) -> Any:
        return s.event("iteration.joined", ticket, iteration=sprint)

    with runtime(app).transaction() as session:
        for epic, ticket in (("jira:PORT-1", "jira:PORT-11"), ("jira:PORT-2", "jira:PORT-21")):
            s.epic(session, epic)
            s.ticket(session, ticket, epic)
        s.sprint(session, "jira:sprint/37", 1)
        s.sprint(session, "jira:sprint/38", 2)

        assert alert(joined("jira:PORT-11", "jira:sprint/37")) == (["joined"], [])
        assert alert(joined("jira:PORT-11", "jira:sprint/37")) == ([], ["jira:PORT-1"])
        assert alert(joined("jira:PORT-11", "jira:sprint/38")) == (["joined"], [])  # another iteration
        left = s.event("iteration.left", "jira:PORT-11", iteration="jira:sprint/38")
        assert alert(left) == ([], ["jira:PORT-1"])  # once per epic: raised there already, in any iteration
        said = s.event("comment.created", "jira:PORT-11", comment_id="1", body="b", author="a")
        assert alert(said) == (["said"], []) and alert(said) == (["said"], [])

        # An alert raised once per epic (here in sprint 38) also counts for the once-per-iteration rule there.
        assert alert(s.event("iteration.left", "jira:PORT-21", iteration="jira:sprint/38")) == (["left"], [])
        assert alert(joined("jira:PORT-21", "jira:sprint/38")) == ([], ["jira:PORT-2"])
        assert alert(joined("jira:PORT-21", "jira:sprint/37")) == (["joined"], [])
        assert len(log_entries(session, "value.alert")) == 6


# --- ex post --------------------------------------------------------------------------------------------------


def test_ex_post_round_when_an_epic_closes(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        h = s.hypothesis(session, "jira:PORT-1")
        closed_child = fire(
            any_app, session, s.event("ticket.closed", "jira:PORT-11", is_epic=False, epic="jira:PORT-1")
        )
        assert fired_ids(closed_child) == []
        firings = fire(any_app, session, s.event("ticket.closed", "jira:PORT-1", is_epic=True, epic=None))
        assert fired_ids(firings) == ["ex-post-round"]
        [r] = session.scalars(select(CheckinRound)).all()
        assert (r.hypothesis_id, r.kind, r.iteration_key, r.unique_key) == (
            h,
            "ex-post",
            None,
            f"ex-post:jira:PORT-1:{h}",
        )
        assert r.deadline == s.T0 + timedelta(days=14)
        [(_, _, target, body)] = outbox(session)
        assert target == "jira:PORT-1" and "ex post" in body["text"]


def test_no_ex_post_round_for_an_epic_without_hypotheses(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-2")
        firings = fire(app, session, s.event("ticket.closed", "jira:PORT-2", is_epic=True))
        assert [f.status for f in firings] == ["not-matched"]
        assert session.scalars(select(CheckinRound)).all() == []


# --- during: co-destruction and divergence ------------------------------------------------------------------


def _two_sprints(session: Session) -> tuple[int, int]:
    s.epic(session, "jira:PORT-1")
    h = s.hypothesis(session, "jira:PORT-1")
    s.sprint(session, "jira:sprint/1", 1, state="closed")
    s.sprint(session, "jira:sprint/2", 2, name="Sprint 2")
    first = s.round_(session, h, "jira:sprint/1")
    second = s.round_(session, h, "jira:sprint/2", opened_at=s.T0 + s.SPRINT)
    return first.id, second.id


def answered(round_id: int) -> Any:
    return s.event("checkin.answered", f"checkin-round:{round_id}", source="api", round=round_id)


def test_co_destruction_alert_on_a_low_group_mean(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        _, second = _two_sprints(session)
        s.answers(session, second, "citizen", 0, -1)  # mean -0.5: not yet
        assert fired_ids(fire(any_app, session, answered(second))) == []
        s.answers(session, second, "citizen", -2)  # mean -1.0: the threshold
        firings = fire(any_app, session, answered(second))
        assert fired_ids(firings) == ["co-destruction-alert"]
        [(_, action, target, body)] = outbox(session)
        assert (action, target) == ("comment", "jira:PORT-1")
        assert "Possible value co-destruction** in Sprint 2" in body["text"]
        assert "The citizen group's mean answer is -1.00." in body["text"]
        [alert] = log_entries(session, "value.alert")
        assert alert.subject == "jira:PORT-1"
        assert (alert.data["type"], alert.data["iteration"], alert.data["rule"]) == (
            "co-destruction",
            "jira:sprint/2",
            "co-destruction-alert",
        )
        # More answers in the same sprint do not repeat the alert.
        s.answers(session, second, "citizen", -2)
        again = fire(any_app, session, answered(second))
        assert again[0].actions[0].args["already_raised"] == ["jira:PORT-1"]
        assert len(outbox(session)) == 1 and len(log_entries(session, "value.alert")) == 1


def test_co_destruction_alert_on_a_drop_between_iterations(app: Flask) -> None:
    with runtime(app).transaction() as session:
        first, second = _two_sprints(session)
        s.answers(session, first, "civil-servant", 2, 1)  # 1.5
        s.answers(session, second, "civil-servant", 1, 1)  # 1.0: dropped by 0.5
        assert fired_ids(fire(app, session, answered(second))) == []
        s.answers(session, second, "civil-servant", 0)  # 0.67: dropped by 0.83
        assert fired_ids(fire(app, session, answered(second))) == []
        s.answers(session, second, "civil-servant", -1)  # 0.25: dropped by 1.25
        assert fired_ids(fire(app, session, answered(second))) == ["co-destruction-alert"]
        text = outbox(session)[0][3]["text"]
        assert "The civil-servant group's mean fell by 1.25 since the previous iteration." in text
        assert "mean answer is" not in text


def test_divergence_alert(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        _, second = _two_sprints(session)
        s.answers(session, second, "citizen", 1)
        s.answers(session, second, "it-developer", 2)
        assert fired_ids(fire(any_app, session, answered(second))) == []  # spread 1
        s.answers(session, second, "civil-servant", 0)
        assert fired_ids(fire(any_app, session, answered(second))) == ["divergence-alert"]  # spread 2
        [(_, _, target, body)] = outbox(session)
        assert target == "jira:PORT-1"
        assert "- citizen: 1.00\n- civil-servant: 0.00\n- it-developer: 2.00" in body["text"]
        assert "A spread of 2.00 points" in body["text"]
        [alert] = log_entries(session, "value.alert")
        assert alert.data["type"] == "divergence"


# --- neglected dimensions -----------------------------------------------------------------------------------


def test_neglected_dimension_nudge_after_three_iterations_of_one_value(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "github:acme/portal#1", "Case handling")
        plan = {1: "value:efficiency", 2: "value:efficiency", 3: "value:efficiency", 4: "value:transparency"}
        for n, value_label in plan.items():
            key = f"github:acme/portal/milestone/{n}"
            s.sprint(session, key, n, state="closed")
            s.ticket(session, f"github:acme/portal#{10 + n}", "github:acme/portal#1", [value_label])
            s.join(session, f"github:acme/portal#{10 + n}", key)

        def closed(n: int) -> list[Any]:
            return fire(app, session, s.event("iteration.closed", f"github:acme/portal/milestone/{n}", source="github"))

        # Every close also posts the sprint value summary (its own rule); the nudge comes on the third.
        assert fired_ids(closed(2)) == ["iteration-summary"]
        assert fired_ids(closed(3)) == ["iteration-summary", "neglected-dimension-nudge"]
        [(tracker, action, target, body)] = [
            row for row in outbox(session) if "Sprint value summary" not in row[3]["text"]
        ]
        assert (tracker, action, target) == ("github", "comment", "github:acme/portal#1")
        assert "The last 3 iterations only touched\n**efficiency**" in body["text"]
        assert fired_ids(closed(4)) == ["iteration-summary"]  # transparency broke the run


def test_neglected_dimension_needs_an_epic_to_talk_to(app: Flask) -> None:
    with runtime(app).transaction() as session:
        for n in (1, 2, 3):
            key = f"github:acme/portal/milestone/{n}"
            s.sprint(session, key, n, state="closed")
            s.ticket(session, f"github:acme/portal#{10 + n}", None, ["value:efficiency"])
            s.join(session, f"github:acme/portal#{10 + n}", key)
        closed = s.event("iteration.closed", "github:acme/portal/milestone/3", source="github")
        [firing] = [f for f in fire(app, session, closed) if f.rule_id == "neglected-dimension-nudge"]
        assert firing.status == "not-matched" and "iteration.epics ne []" in firing.detail
        assert outbox(session) == []


# --- escalation (scheduled) ------------------------------------------------------------------------------------


def test_low_response_escalation_runs_once_per_fire_time(any_app: Flask) -> None:
    rt: Runtime = runtime(any_app)
    with rt.transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2")
        s.epic(session, "jira:PORT-3")
        low = s.round_(session, s.hypothesis(session, "jira:PORT-1", owner="maria"), None, kind="ex-post")
        s.prompts(session, low.id, "citizen", sent=5, answered=1)
        good = s.round_(session, s.hypothesis(session, "jira:PORT-2"), None, kind="ex-post")
        s.prompts(session, good.id, "citizen", sent=2, answered=2)
        young = s.round_(
            session, s.hypothesis(session, "jira:PORT-3"), None, kind="ex-post", opened_at=s.T0 + timedelta(days=5)
        )
        s.prompts(session, young.id, "citizen", sent=4, answered=0)

    # Day 4 of 10 at 08:05: not yet half the time gone for anyone.
    assert run_scheduled(rt, s.T0.replace(hour=8, minute=5) + timedelta(days=4)) == 0
    # Day 6 at 08:05: the first round is past half time with 20% answers.
    morning = s.T0.replace(hour=8, minute=5) + timedelta(days=6)
    assert run_scheduled(rt, morning) == 1
    assert run_scheduled(rt, morning + timedelta(minutes=5)) == 0  # the same fire time does not run twice
    with rt.transaction() as session:
        [(_, action, target, body)] = outbox(session)
        assert (action, target) == ("comment", "jira:PORT-1")
        assert body["text"].startswith("@maria only 20% of the stakeholders asked in check-in\nround")
        [entry] = log_entries(session, "rule.fired")
        assert entry.data["rule"] == "low-response-escalation" and entry.data["pack_sha256"] == DEFAULT_HASH
        assert entry.subject == f"checkin-round:{low.id}"
        keys = set(session.scalars(select(ClockRun.key)))
        assert f"rule:low-response-escalation:{morning:%Y-%m-%d}T08:00Z" in keys


def test_escalation_without_an_owner_is_recorded_as_failed(app: Flask) -> None:
    rt = runtime(app)
    with rt.transaction() as session:
        s.epic(session, "jira:PORT-1")
        r = s.round_(session, s.hypothesis(session, "jira:PORT-1", owner=None), None, kind="ex-post")
        s.prompts(session, r.id, "citizen", sent=3, answered=0)
    assert run_scheduled(rt, s.T0.replace(hour=8, minute=1) + timedelta(days=7)) == 1
    with rt.transaction() as session:
        [failed] = log_entries(session, "rule.failed")
        assert failed.data["rule"] == "low-response-escalation" and failed.data["action"] == "notify_owner"
        assert "has no owner" in failed.data["error"]
        assert outbox(session) == []


# --- failures -------------------------------------------------------------------------------------------------


class Explodes(Action):
    """A test action that writes an outbox row and then fails, to show the savepoint undoes the row."""

    name = "explode"

    @classmethod
    def parse(cls, params: Any, where: Where) -> Action:
        return cls()

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        ctx.enqueue(tracker="jira", action="comment", target="jira:PORT-1", body={"text": "half"})
        raise RuntimeError("the tracker integration is broken")


@pytest.fixture
def exploding_action() -> Any:
    register_action(Explodes)
    yield
    del ACTIONS["explode"]


def test_a_failing_rule_is_recorded_and_the_others_still_run(
    any_app: Flask, tmp_path: Path, exploding_action: Any
) -> None:
    (tmp_path / "project.yaml").write_text(
        "rules:\n"
        "  - id: broken-first\n"
        "    on: label.unknown\n"
        "    then:\n"
        "      - comment: {text: 'this comment is undone with the rule'}\n"
        "      - explode: {}\n"
        "  - id: typo-in-template\n"
        "    on: label.unknown\n"
        "    then: [{comment: {text: '{{ event.data.lable }}'}}]\n"
    )
    ruleset = load_folders([BUILTIN_DIR, tmp_path])
    with runtime(any_app).transaction() as session:
        s.ticket(session, "jira:PORT-11")
        firings = fire(
            any_app,
            session,
            s.event("label.unknown", "jira:PORT-11", label="value:transparancy", suggestion="transparency"),
            rules=ruleset,
        )
        assert [(f.rule_id, f.status) for f in firings] == [
            ("unknown-value-label", FIRED),
            ("broken-first", FAILED),
            ("typo-in-template", FAILED),
        ]
        assert firings[1].failed_action == "explode" and "integration is broken" in (firings[1].error or "")
        # Only the working rule's comment exists: the failed rule's first comment and half-written row are undone.
        assert [body["text"] for (*_, body) in outbox(session)] == [
            "`value:transparancy` does not name a value dimension I know. Did you mean `value:transparency`?"
        ]
        failed = log_entries(session, "rule.failed")
        assert [(e.data["rule"], e.data["action"]) for e in failed] == [
            ("broken-first", "explode"),
            ("typo-in-template", "comment"),
        ]
        assert "'dict object' has no attribute 'lable'" in failed[1].data["error"]
        assert failed[0].data["pack"] == "project.yaml"
        assert failed[0].data["pack_sha256"] == hashlib.sha256((tmp_path / "project.yaml").read_bytes()).hexdigest()
        [fired] = log_entries(session, "rule.fired")
        assert fired.data["rule"] == "unknown-value-label"


def test_rules_dir_packs_are_used_by_react(tmp_path: Path) -> None:
    (tmp_path / "ours.yaml").write_text(
        "rules:\n  - id: unknown-value-label\n    enabled: false\n"
        "  - id: tag-new-tickets\n    on: ticket.created\n    when: [{field: epic.key, op: exists, value: false}]\n"
        "    then: [{add_label: {label: needs-epic}}]\n"
    )
    app = build_app(make_settings(tmp_path / "instance", rules_dir=tmp_path))
    with runtime(app).transaction() as session:
        firings = fire(
            app,
            session,
            s.event("label.unknown", "jira:PORT-9", label="value:x", suggestion=None),
            s.event("ticket.created", "jira:PORT-9", epic=None),
        )
        assert fired_ids(firings) == ["tag-new-tickets"]
        assert outbox(session) == [("jira", "add_label", "jira:PORT-9", {"label": "needs-epic"})]
    runtime(app).engine.dispose()


def test_react_returns_what_acted(app: Flask) -> None:
    with runtime(app).transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.hypothesis(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/37", 1)
        s.join(session, "jira:PORT-1", "jira:sprint/37")
        firings = react(session, [s.event("iteration.started", "jira:sprint/37")], settings=runtime(app).settings)
        assert [(f.rule_id, f.status) for f in firings] == [("iteration-checkin-round", FIRED)]


def test_events_no_rule_listens_to_cost_nothing(app: Flask) -> None:
    with runtime(app).transaction() as session:
        assert (
            fire(
                app, session, s.event("ticket.updated", "jira:PORT-1"), s.event("tracker.pinged", "jira:x", tracker="x")
            )
            == []
        )
        assert log_entries(session, "rule.fired") == []
    assert load_rules().for_kind("ticket.updated") == []


def test_the_clock_runs_scheduled_rules(app: Flask) -> None:
    rt = runtime(app)
    assert "scheduled_rules" in {job.id for job in build_scheduler(rt).get_jobs()}
    with rt.transaction() as session:
        s.epic(session, "jira:PORT-1")
        # Opened a week ago with a ten-day deadline and nobody answering: today's 08:00 run escalates it.
        r = s.round_(
            session,
            s.hypothesis(session, "jira:PORT-1"),
            None,
            kind="ex-post",
            opened_at=datetime.now(UTC) - timedelta(days=7, hours=9),
        )
        s.prompts(session, r.id, "citizen", sent=2, answered=0)
    scheduled_rules(rt)
    scheduled_rules(rt)
    with rt.transaction() as session:
        assert len(log_entries(session, "rule.fired")) == 1
        [(_, _, target, body)] = outbox(session)
        assert target == "jira:PORT-1" and body["text"].startswith("@service-owner only 0%")


@pytest.mark.postgres
def test_two_workers_nudge_an_epic_once(tmp_path: Path, postgres_url: str) -> None:
    """Two tickets of one epic join a sprint, handled by two workers at once: one nudge, not two."""
    app = build_app(make_settings(tmp_path, postgres_url))
    rt = runtime(app)
    with rt.transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.sprint(session, "jira:sprint/37", 1)
        for key in ("jira:PORT-11", "jira:PORT-12"):
            s.ticket(session, key, "jira:PORT-1")
            s.join(session, key, "jira:sprint/37")
    first_reacted, second_started = threading.Event(), threading.Event()
    statuses: dict[str, list[str]] = {}

    def worker(ticket: str, wait_for: threading.Event | None, announce: threading.Event) -> None:
        if wait_for is not None:
            wait_for.wait(10)
        with rt.transaction() as session:
            if wait_for is not None:
                announce.set()
            found = evaluate(
                session, [s.event("iteration.joined", ticket, iteration="jira:sprint/37")], settings=rt.settings
            )
            statuses[ticket] = [f.status for f in found if f.rule_id == "ex-ante-nudge"]
            if wait_for is None:
                announce.set()
                second_started.wait(10)
                threading.Event().wait(0.5)  # keep this transaction open while the other one checks

    one = threading.Thread(target=worker, args=("jira:PORT-11", None, first_reacted))
    two = threading.Thread(target=worker, args=("jira:PORT-12", first_reacted, second_started))
    one.start()
    two.start()
    one.join(30)
    two.join(30)
    assert statuses == {"jira:PORT-11": ["fired"], "jira:PORT-12": ["already-fired"]}
    with rt.transaction() as session:
        assert len(outbox(session)) == 1
    rt.engine.dispose()
