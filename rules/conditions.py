"""The condition registry: `all`, `any`, `not` and the field-operator condition, each a small class."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rules.errors import Where
from rules.fields import check_field, resolve
from rules.scope import Scope


class Condition:
    """A test over the event and the facts. Subclasses parse themselves from a pack and are frozen."""

    name: ClassVar[str]

    @classmethod
    def parse(cls, raw: Any, where: Where, groups: Mapping[str, str] | None) -> Condition:
        raise NotImplementedError

    def holds(self, scope: Scope) -> bool:
        raise NotImplementedError

    def explain(self) -> str:
        raise NotImplementedError


CONDITIONS: dict[str, type[Condition]] = {}


def register_condition(cls: type[Condition]) -> type[Condition]:
    CONDITIONS[cls.name] = cls
    return cls


def parse_condition(raw: Any, where: Where, groups: Mapping[str, str] | None = None) -> Condition:
    """A mapping with one registry name as key (`all: [...]`), or a field condition (`{field, op, value}`).

    A list is shorthand for `all`.
    """
    if isinstance(raw, list):
        return All.parse(raw, where, groups)
    if not isinstance(raw, Mapping):
        raise where.error(
            "a condition must be a mapping such as {field: event.kind, op: eq, value: label.added} or {all: [...]}",
            sorted(CONDITIONS),
        )
    if "field" in raw:
        return CONDITIONS["field"].parse(raw, where, groups)
    if len(raw) != 1:
        raise where.error(
            f"a condition has exactly one of the keys below, got {', '.join(map(str, raw)) or 'none'}",
            sorted(CONDITIONS),
        )
    ((name, body),) = raw.items()
    cls = CONDITIONS.get(str(name))
    if cls is None or cls.name == "field":
        raise where.error(f"unknown condition {name!r}", sorted(CONDITIONS))
    return cls.parse(body, where.at(str(name)), groups)


def _parse_list(raw: Any, where: Where, groups: Mapping[str, str] | None, name: str) -> tuple[Condition, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.error(f"`{name}` takes a non-empty list of conditions")
    return tuple(parse_condition(item, where.at(i), groups) for i, item in enumerate(raw))


@register_condition
@dataclass(frozen=True)
class All(Condition):
    name: ClassVar[str] = "all"
    items: tuple[Condition, ...]

    @classmethod
    def parse(cls, raw: Any, where: Where, groups: Mapping[str, str] | None) -> Condition:
        return cls(_parse_list(raw, where, groups, cls.name))

    def holds(self, scope: Scope) -> bool:
        return all(item.holds(scope) for item in self.items)

    def explain(self) -> str:
        return "(" + " and ".join(item.explain() for item in self.items) + ")"


@register_condition
@dataclass(frozen=True)
class AnyOf(Condition):
    name: ClassVar[str] = "any"
    items: tuple[Condition, ...]

    @classmethod
    def parse(cls, raw: Any, where: Where, groups: Mapping[str, str] | None) -> Condition:
        return cls(_parse_list(raw, where, groups, cls.name))

    def holds(self, scope: Scope) -> bool:
        return any(item.holds(scope) for item in self.items)

    def explain(self) -> str:
        return "(" + " or ".join(item.explain() for item in self.items) + ")"


@register_condition
@dataclass(frozen=True)
class Not(Condition):
    name: ClassVar[str] = "not"
    item: Condition

    @classmethod
    def parse(cls, raw: Any, where: Where, groups: Mapping[str, str] | None) -> Condition:
        return cls(parse_condition(raw, where, groups))

    def holds(self, scope: Scope) -> bool:
        return not self.item.holds(scope)

    def explain(self) -> str:
        return f"not {self.item.explain()}"


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Ordering comparisons are false for None and for values of kinds that cannot be ordered."""

    def run(actual: Any, expected: Any) -> bool:
        if actual is None or isinstance(actual, bool):
            return False
        try:
            return test(actual, expected)
        except TypeError:
            return False

    return run


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list | tuple | set | frozenset | Mapping):
        return expected in actual
    return False


def _glob(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and fnmatch.fnmatchcase(actual, str(expected))


def _matches(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and expected.search(actual) is not None


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, e: a == e,
    "ne": lambda a, e: a != e,
    "lt": _compare(lambda a, e: a < e),
    "le": _compare(lambda a, e: a <= e),
    "gt": _compare(lambda a, e: a > e),
    "ge": _compare(lambda a, e: a >= e),
    "in": lambda a, e: a in e,
    "not_in": lambda a, e: a not in e,
    "contains": _contains,
    "matches": _matches,
    "exists": lambda a, e: (a is not None) == e,
    "glob": _glob,
}
_NUMERIC = ("lt", "le", "gt", "ge")
_FIELD_KEYS = ("field", "op", "value")


@register_condition
@dataclass(frozen=True)
class FieldCondition(Condition):
    """`{field: <path>, op: <operator>, value: <plain value>}`; `exists` takes true (default) or false."""

    name: ClassVar[str] = "field"
    field: str
    op: str
    value: Any

    @classmethod
    def parse(cls, raw: Any, where: Where, groups: Mapping[str, str] | None) -> Condition:
        unknown = [str(k) for k in raw if k not in _FIELD_KEYS]
        if unknown:
            raise where.at(unknown[0]).error(f"unknown key {unknown[0]!r} in a field condition", _FIELD_KEYS)
        field = check_field(raw["field"], where.at("field"), groups)
        op = raw.get("op")
        if op not in OPERATORS:
            raise where.at("op").error(f"unknown operator {op!r}", OPERATORS)
        if op == "exists":
            value = raw.get("value", True)
            if not isinstance(value, bool):
                raise where.at("value").error("`exists` takes true or false")
            return cls(field, op, value)
        if "value" not in raw:
            raise where.at("value").error(f"operator {op!r} needs a value")
        value = raw["value"]
        if op in _NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise where.at("value").error(f"operator {op!r} compares numbers; {value!r} is not a number")
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                raise where.at("value").error(f"operator {op!r} takes a list, e.g. [a, b]")
            value = tuple(value)
        if op == "matches":
            try:
                value = re.compile(str(value))
            except re.error as exc:
                raise where.at("value").error(f"{value!r} is not a regular expression: {exc}") from exc
        if op == "glob" and not isinstance(value, str):
            raise where.at("value").error("operator 'glob' takes a pattern such as value-risk:*")
        return cls(field, op, value)

    def holds(self, scope: Scope) -> bool:
        return OPERATORS[self.op](resolve(self.field, scope.event_view, scope.facts), self.value)

    def explain(self) -> str:
        shown = self.value.pattern if isinstance(self.value, re.Pattern) else self.value
        return f"{self.field} {self.op} {shown!r}"
