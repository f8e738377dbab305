"""Rules and packs as frozen data: a rule is a trigger, an optional condition and a list of actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules.actions import Action
from rules.conditions import Condition
from rules.triggers import Schedule, Trigger


@dataclass(frozen=True)
class Rule:
    id: str
    pack: str  # the file name of the pack that defined it (the last one, when overridden)
    pack_sha256: str
    description: str
    trigger: Trigger | None  # None only for a rule that is switched off
    condition: Condition | None
    actions: tuple[Action, ...]
    once_per: tuple[str, ...] = ()  # fields whose values, together, let the rule fire once
    enabled: bool = True

    @property
    def scheduled(self) -> bool:
        return isinstance(self.trigger, Schedule)


@dataclass(frozen=True)
class Pack:
    name: str  # file name, e.g. default.yaml
    path: str
    sha256: str  # of the file's bytes, so an auditor can tell which version of a rule acted
    description: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleSet:
    """Every loaded pack in order and the rules in effect after overrides (switched-off ones left out)."""

    packs: tuple[Pack, ...]
    rules: tuple[Rule, ...]

    def for_kind(self, kind: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.trigger is not None and rule.trigger.matches(kind)]

    def scheduled(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.scheduled]

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def summary(self) -> list[dict[str, Any]]:
        return [{"pack": p.name, "path": p.path, "sha256": p.sha256, "rules": len(p.rules)} for p in self.packs]
