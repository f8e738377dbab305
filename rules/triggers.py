"""The trigger registry: `on` (event kinds, glob patterns allowed) and `schedule` (cron, run by the clock)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from apscheduler.triggers.cron import CronTrigger

from rules.errors import Where
from service.domain.kinds import Kind, known_kinds

# What a scheduled rule runs over; each item becomes one event of that kind.
SCHEDULE_EACH = {"open_round": Kind.CLOCK_OPEN_ROUND, "active_iteration": Kind.CLOCK_ACTIVE_ITERATION}
SCHEDULE_KEYS = ("cron", "each")
# How far back the clock looks for a missed fire time (a clock down for a night still runs the morning rule).
CATCH_UP = timedelta(days=1)


class Trigger:
    name: ClassVar[str]

    @classmethod
    def parse(cls, raw: Any, where: Where) -> Trigger:
        raise NotImplementedError

    def matches(self, kind: str) -> bool:
        raise NotImplementedError

    def explain(self) -> str:
        raise NotImplementedError


TRIGGERS: dict[str, type[Trigger]] = {}


def register_trigger(cls: type[Trigger]) -> type[Trigger]:
    TRIGGERS[cls.name] = cls
    return cls


@register_trigger
@dataclass(frozen=True)
class OnEvent(Trigger):
    """`on: label.unknown` or `on: [iteration.joined, iteration.started]` or `on: "hypothesis.*"`."""

    name: ClassVar[str] = "on"
    patterns: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Any, where: Where) -> Trigger:
        patterns = [raw] if isinstance(raw, str) else raw
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
            raise where.error("`on` takes an event kind or a list of them (glob patterns allowed)", known_kinds())
        kinds = known_kinds()
        for i, pattern in enumerate(patterns):
            if not fnmatch.filter(kinds, pattern):
                at = where.at(i) if isinstance(raw, list) else where
                raise at.error(f"{pattern!r} matches no event kind", kinds)
        return cls(tuple(patterns))

    def matches(self, kind: str) -> bool:
        return any(fnmatch.fnmatchcase(kind, pattern) for pattern in self.patterns)

    def explain(self) -> str:
        return "on " + ", ".join(self.patterns)


@register_trigger
@dataclass(frozen=True)
class Schedule(Trigger):
    """`schedule: {cron: "0 7 * * *", each: open_round}`: at each fire time (UTC), one event per item."""

    name: ClassVar[str] = "schedule"
    cron: str
    each: str

    @classmethod
    def parse(cls, raw: Any, where: Where) -> Trigger:
        if not isinstance(raw, dict):
            raise where.error('`schedule` takes a mapping such as {cron: "0 7 * * *", each: open_round}', SCHEDULE_KEYS)
        unknown = [str(k) for k in raw if k not in SCHEDULE_KEYS]
        if unknown:
            raise where.at(unknown[0]).error(f"unknown key {unknown[0]!r}", SCHEDULE_KEYS)
        cron = raw.get("cron")
        try:
            CronTrigger.from_crontab(str(cron), timezone="UTC")
        except ValueError as exc:
            raise where.at("cron").error(
                f"{cron!r} is not a cron expression (minute hour day month weekday, UTC): {exc}"
            ) from exc
        each = raw.get("each")
        if each not in SCHEDULE_EACH:
            raise where.at("each").error(f"unknown schedule scope {each!r}", list(SCHEDULE_EACH))
        return cls(str(cron), str(each))

    def matches(self, kind: str) -> bool:
        return kind == SCHEDULE_EACH[self.each]

    def latest_fire_time(self, now: datetime) -> datetime | None:
        """The last fire time in (now - CATCH_UP, now]; missed earlier ones are coalesced into it, as the clock does."""
        trigger = CronTrigger.from_crontab(self.cron, timezone="UTC")
        latest = None
        moment = trigger.get_next_fire_time(None, now - CATCH_UP + timedelta(microseconds=1))
        while moment is not None and moment <= now:
            latest = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return latest

    def explain(self) -> str:
        return f"schedule {self.cron} each {self.each}"
