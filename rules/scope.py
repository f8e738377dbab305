"""What a rule sees while it is evaluated: the event (as plain data), the facts and the time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.facts import Facts
from service.domain.events import Event


@dataclass(frozen=True)
class Scope:
    event: Event
    facts: Facts
    now: datetime
    event_view: Mapping[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        view = self.event.as_dict()
        view["data"] = _plain(view["data"])  # as_dict holds data.plain() already: dumped once per event
        object.__setattr__(self, "event_view", view)


def _plain(value: Any) -> Any:
    """Mapping proxies and tuples become dicts and lists, so templates and `contains` see ordinary values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
