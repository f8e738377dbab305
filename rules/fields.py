"""Field paths in conditions: `event.kind`, `event.data.label`, or a fact name such as `epic.has_active_hypothesis`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.errors import Where
from rules.facts import Facts, fact_names, split_parameter

EVENT_FIELDS = ("kind", "source", "subject", "actor", "occurred_at", "data")
_MISSING = object()


def check_field(path: str, where: Where, groups: Mapping[str, str] | None = None) -> str:
    """Validate a field path at load time; returns it unchanged."""
    if not isinstance(path, str) or not path.strip():
        raise where.error("a field must be a non-empty text such as event.kind or epic.has_active_hypothesis")
    if path.startswith("event."):
        parts = path.split(".")
        if parts[1] not in EVENT_FIELDS:
            raise where.error(f"unknown event field {parts[1]!r}", [f"event.{f}" for f in EVENT_FIELDS])
        if parts[1] != "data" and len(parts) > 2:
            raise where.error(f"event.{parts[1]} has no parts; only event.data.<key> goes deeper")
        return path
    found = split_parameter(path)
    if found is None:
        raise where.error(f"unknown field {path!r}", ["event.<field>", "event.data.<key>", *fact_names()])
    spec, parameter = found
    if spec.parameter == "group" and groups is not None and parameter not in groups:
        raise where.error(f"unknown stakeholder group {parameter!r} in {path!r}", sorted(groups))
    return path


def resolve(path: str, event_view: Mapping[str, Any], facts: Facts) -> Any:
    """The value at `path`; a missing key in event.data is None (so `exists` can ask for it)."""
    if path.startswith("event."):
        value: Any = event_view
        for part in path.split(".")[1:]:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return None
        return value
    return facts.get(path)
