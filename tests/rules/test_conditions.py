"""Every condition operator, and `all` / `any` / `not`, over the event and over facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rules.conditions import OPERATORS, parse_condition
from rules.errors import PackError, Where
from rules.scope import Scope
from service.domain.events import Event
from service.domain.payloads import Payload


class Labelled(Payload):
    """A payload with a text, a list and a number, so every operator meets every kind of value."""

    label: str
    labels: list[str]
    score: int


WHERE = Where("test.yaml", "r1", "when")
EVENT = Event(
    kind="label.added",
    source="github",
    subject="github:acme/portal#3",
    actor="octocat",
    data=Labelled(label="value-risk:privacy", labels=["bug", "value-risk:privacy"], score=2),
)


class DictFacts:
    def __init__(self, **values: Any) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values[name]


def holds(raw: Any, **facts: Any) -> bool:
    condition = parse_condition(raw, WHERE, {"citizen": "Citizens", "user": "Users"})
    return condition.holds(Scope(EVENT, DictFacts(**facts), datetime(2026, 11, 2, tzinfo=UTC)))


# (field, op, value, facts, expected)
TABLE = [
    ("event.kind", "eq", "label.added", {}, True),
    ("event.kind", "eq", "label.removed", {}, False),
    ("event.kind", "ne", "label.removed", {}, True),
    ("event.kind", "ne", "label.added", {}, False),
    ("iteration.divergence", "lt", 2, {"iteration.divergence": 1.5}, True),
    ("iteration.divergence", "lt", 2, {"iteration.divergence": 2.0}, False),
    ("iteration.divergence", "le", 2, {"iteration.divergence": 2.0}, True),
    ("iteration.divergence", "le", 2, {"iteration.divergence": 2.01}, False),
    ("iteration.divergence", "gt", 2, {"iteration.divergence": 2.5}, True),
    ("iteration.divergence", "gt", 2, {"iteration.divergence": 2}, False),
    ("iteration.divergence", "ge", 2, {"iteration.divergence": 2}, True),
    ("iteration.divergence", "ge", 2, {"iteration.divergence": 1.99}, False),
    ("iteration.divergence", "ge", 2, {"iteration.divergence": None}, False),  # no answers: never a match
    ("iteration.min_group_mean", "le", -1, {"iteration.min_group_mean": -1.0}, True),
    ("epic.active_hypotheses", "gt", 0, {"epic.active_hypotheses": True}, False),  # booleans are not numbers
    ("event.source", "in", ["github", "jira"], {}, True),
    ("event.source", "in", ["jira", "gitlab"], {}, False),
    ("event.source", "not_in", ["jira", "gitlab"], {}, True),
    ("event.source", "not_in", ["github"], {}, False),
    ("event.data.labels", "contains", "bug", {}, True),
    ("event.data.labels", "contains", "value:transparency", {}, False),
    ("event.data.label", "contains", "privacy", {}, True),
    ("event.data.label", "contains", "security", {}, False),
    ("event.data.score", "contains", 2, {}, False),  # a number contains nothing
    ("event.data.label", "matches", r"^value-risk[:/]", {}, True),
    ("event.data.label", "matches", r"^value[:/]", {}, False),
    ("event.data.score", "matches", r"2", {}, False),  # only text is matched
    ("event.data.label", "glob", "value-risk:*", {}, True),
    ("event.data.label", "glob", "value:*", {}, False),
    ("event.data.label", "exists", True, {}, True),
    ("event.data.missing", "exists", True, {}, False),
    ("event.data.missing", "exists", False, {}, True),
    ("epic.key", "exists", True, {"epic.key": None}, False),
    ("epic.has_active_hypothesis", "eq", False, {"epic.has_active_hypothesis": False}, True),
    ("iteration.answer_mean.citizen", "le", -1, {"iteration.answer_mean.citizen": -1.5}, True),
]


@pytest.mark.parametrize(("field", "op", "value", "facts", "expected"), TABLE)
def test_operator_table(field: str, op: str, value: Any, facts: dict[str, Any], expected: bool) -> None:
    assert holds({"field": field, "op": op, "value": value}, **facts) is expected


def test_table_covers_every_operator() -> None:
    assert {row[1] for row in TABLE} == set(OPERATORS)


def test_exists_defaults_to_true() -> None:
    assert holds({"field": "event.data.label", "op": "exists"}) is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"all": [{"field": "event.kind", "op": "eq", "value": "label.added"}, {"field": "x.y", "op": "exists"}]},
            None,
        ),
        (
            [
                {"field": "event.kind", "op": "eq", "value": "label.added"},
                {"field": "event.source", "op": "eq", "value": "jira"},
            ],
            False,
        ),
        (
            {
                "any": [
                    {"field": "event.source", "op": "eq", "value": "jira"},
                    {"field": "event.source", "op": "eq", "value": "github"},
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"field": "event.source", "op": "eq", "value": "jira"},
                    {"field": "event.source", "op": "eq", "value": "gitlab"},
                ]
            },
            False,
        ),
        ({"not": {"field": "event.source", "op": "eq", "value": "jira"}}, True),
        ({"not": {"any": [{"field": "event.source", "op": "eq", "value": "github"}]}}, False),
        (
            {
                "all": [
                    {"field": "event.kind", "op": "glob", "value": "label.*"},
                    {"not": {"field": "event.data.label", "op": "glob", "value": "value:*"}},
                ]
            },
            True,
        ),
    ],
)
def test_all_any_not(raw: Any, expected: bool | None) -> None:
    if expected is None:  # x.y is not a field: rejected at load, not at run time
        with pytest.raises(PackError, match=r"unknown field 'x\.y'"):
            holds(raw)
        return
    assert holds(raw) is expected


def test_facts_are_asked_only_when_needed() -> None:
    # `any` stops at the first true item, so a fact behind it is never computed.
    raw = {"any": [{"field": "event.source", "op": "eq", "value": "github"}, {"field": "epic.key", "op": "exists"}]}
    assert holds(raw) is True  # DictFacts would raise KeyError for epic.key
