"""The built-in actions through their interface alone: a recording context, no database, no service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rules.actions import Action, ActionError, parse_action
from rules.context import ActionContext, RoundOpening
from rules.errors import PackError, Where
from rules.facts import Facts
from rules.scope import Scope
from service.domain import once
from service.domain.events import Event
from service.domain.keys import tracker_of
from service.domain.payloads import recorded

NOW = datetime(2026, 9, 21, 9, 0, tzinfo=UTC)
WHERE = Where("test.yaml", "r1", "then")


@dataclass
class DictFacts:
    values: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.values.get(name)


@dataclass
class Recording:
    """An ActionContext that records what actions ask of it, as `integrations/recording.py` does for clients."""

    scope: Scope
    rule_id: str = "r1"
    cause: str = "rule:r1 delivery:7"
    queued: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    logged: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    rounds: dict[str, tuple[int, str, str | None, datetime]] = field(default_factory=dict)
    reminders: dict[str, datetime | None] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)

    @property
    def facts(self) -> Facts:
        return self.scope.facts

    @property
    def now(self) -> datetime:
        return self.scope.now

    def enqueue(self, *, tracker: str, action: str, target: str, body: Mapping[str, Any]) -> None:
        self.queued.append((tracker, action, target, dict(body)))

    def log(self, kind: str, subject: str, data: Mapping[str, Any]) -> None:
        self.logged.append((kind, subject, dict(data)))

    def open_round(
        self,
        *,
        hypothesis_id: int,
        kind: str,
        iteration: str | None,
        deadline: datetime,
        unique_key: str,
        remind_at: datetime | None = None,
    ) -> RoundOpening:
        if unique_key in self.rounds:
            return RoundOpening(list(self.rounds).index(unique_key) + 100, opened=False)
        self.rounds[unique_key] = (hypothesis_id, kind, iteration, deadline)
        self.reminders[unique_key] = remind_at
        return RoundOpening(len(self.rounds) + 99, opened=True)

    def claim(self, key: str) -> bool:
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True


ANSWERED = Event(
    "checkin.answered", "api", "checkin-round:4", "citizen", NOW, recorded("checkin.answered", {"round": 4})
)


def context(facts: dict[str, Any] | None = None, event: Event = ANSWERED) -> Recording:
    return Recording(Scope(event, DictFacts(facts or {}), NOW))


def run(raw: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
    return parse_action(raw, WHERE).run(ctx)


def test_comments_and_labels_are_queued_for_the_target_s_tracker() -> None:
    ctx = context({"epic.key": "github:acme/portal#34", "iteration.epics": ["jira:PORT-1", "github:acme/portal#34"]})
    done = run({"comment": {"target": "iteration_epics", "text": "Sprint ends on {{ fact('epic.key') }}"}}, ctx)
    assert [c["target"] for c in done["comments"]] == ["jira:PORT-1", "github:acme/portal#34"]
    run({"add_label": {"target": "epic", "label": "value-review"}}, ctx)
    assert ctx.queued == [
        ("jira", "comment", "jira:PORT-1", {"text": "Sprint ends on github:acme/portal#34"}),
        ("github", "comment", "github:acme/portal#34", {"text": "Sprint ends on github:acme/portal#34"}),
        ("github", "add_label", "github:acme/portal#34", {"label": "value-review"}),
    ]
    assert ctx.logged == []  # what comments and labels did is in the rule's own `rule.fired` entry


def test_an_alert_claims_then_comments_and_logs_and_is_not_repeated() -> None:
    ctx = context({"epic.key": "jira:PORT-1", "iteration.key": "jira:sprint/2"})
    alert = {"alert": {"type": "divergence", "text": "Groups differ."}}
    assert run(alert, ctx) == {
        "type": "divergence",
        "comments": [{"target": "jira:PORT-1", "text": "Groups differ."}],
        "already_raised": [],
    }
    assert ctx.claimed == {
        '["value.alert","divergence","jira:PORT-1"]',
        '["value.alert","divergence","jira:PORT-1","jira:sprint/2"]',
    }
    [(kind, subject, data)] = ctx.logged
    assert (kind, subject) == ("value.alert", "jira:PORT-1")
    assert data == {
        "type": "divergence",
        "iteration": "jira:sprint/2",
        "rule": "r1",
        "event": "checkin.answered",
        "text": "Groups differ.",
    }
    assert run(alert, ctx)["already_raised"] == ["jira:PORT-1"]
    assert len(ctx.queued) == len(ctx.logged) == 1


def test_rounds_are_opened_per_hypothesis_by_unique_key() -> None:
    started = Event("iteration.started", "jira", "jira:sprint/37", "jira:ana", NOW)
    ctx = context({"iteration.key": "jira:sprint/37", "iteration.active_hypothesis_ids": [3, 5]}, started)
    done = run({"open_checkin_round": {"kind": "iteration", "deadline": "10d"}}, ctx)
    assert done["opened"] == [100, 101] and done["already_open"] == []
    assert ctx.rounds == {
        "iteration:jira:sprint/37:3": (3, "iteration", "jira:sprint/37", NOW + timedelta(days=10)),
        "iteration:jira:sprint/37:5": (5, "iteration", "jira:sprint/37", NOW + timedelta(days=10)),
    }
    again = run({"open_checkin_round": {"kind": "iteration", "deadline": "10d"}}, ctx)
    assert again["opened"] == [] and again["already_open"] == [100, 101]


def test_a_round_reminds_at_half_its_time_unless_told_how_long_before_the_deadline() -> None:
    started = Event("iteration.started", "jira", "jira:sprint/37", "jira:ana", NOW)
    ctx = context({"iteration.key": "jira:sprint/37", "iteration.active_hypothesis_ids": [3]}, started)
    run({"open_checkin_round": {"kind": "iteration", "deadline": "10d"}}, ctx)
    assert ctx.reminders == {"iteration:jira:sprint/37:3": NOW + timedelta(days=5)}
    ctx = context({"iteration.key": "jira:sprint/38", "iteration.active_hypothesis_ids": [3]}, started)
    done = run({"open_checkin_round": {"kind": "iteration", "deadline": "10d", "remind_before": "2d"}}, ctx)
    assert ctx.reminders == {"iteration:jira:sprint/38:3": NOW + timedelta(days=8)}
    assert done["remind_at"] == (NOW + timedelta(days=8)).isoformat()
    with pytest.raises(PackError, match="must be shorter than the deadline"):
        run({"open_checkin_round": {"kind": "iteration", "deadline": "3d", "remind_before": "3d"}}, ctx)


def test_an_ex_post_round_needs_an_epic_and_an_owner_is_needed_to_notify() -> None:
    with pytest.raises(ActionError, match="names no epic"):
        run({"open_checkin_round": {"kind": "ex-post", "deadline": "14d"}}, context())
    with pytest.raises(ActionError, match="has no owner"):
        run({"notify_owner": {"text": "Please look"}}, context({"hypothesis.epic": "jira:PORT-1"}))
    ctx = context({"hypothesis.epic": "jira:PORT-1", "hypothesis.owner": "maria"})
    run({"notify_owner": {"text": "Please look"}}, ctx)
    assert ctx.queued == [("jira", "comment", "jira:PORT-1", {"text": "@maria Please look"})]


def test_the_readme_s_example_action_works_through_the_interface() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [source] = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "class FlagForReview" in b]
    # The README leaves its imports out; these are the ones it names.
    namespace: dict[str, Any] = {
        "dataclass": dataclass,
        "ClassVar": ClassVar,
        "Mapping": Mapping,
        "Any": Any,
        "Action": Action,
        "ActionContext": ActionContext,
        "Where": Where,
        "once": once,
        "tracker_of": tracker_of,
    }
    exec(source, namespace)
    action = namespace["FlagForReview"].parse({}, WHERE)
    ctx = context({"epic.key": "github:acme/portal#34"})
    assert action.run(ctx) == {"flagged": "github:acme/portal#34"}
    assert action.run(ctx) == {"flagged": None}
    assert ctx.queued == [("github", "add_label", "github:acme/portal#34", {"label": "value-review"})]
