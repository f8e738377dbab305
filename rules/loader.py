"""Loading rule packs: every file validated in full before any of it is used; project packs override by rule id.

Precedence: the packs shipped in `rules/packs/` load first (file names in alphabetical order), then those in
PVM_RULES_DIR. A rule whose id was already defined replaces the earlier one in place; `enabled: false` switches it
off (such an override needs only `id` and `enabled`). The same id twice inside one folder is an error.
`taxonomy.yaml` is the taxonomy, not a rule pack, and is skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rules.actions import parse_action
from rules.conditions import parse_condition
from rules.errors import PackError, Where
from rules.fields import check_field
from rules.model import Pack, Rule, RuleSet
from rules.triggers import TRIGGERS
from service.domain import taxonomy

BUILTIN_DIR = Path(__file__).with_name("packs")
NOT_PACKS = ("taxonomy.yaml",)
PACK_KEYS = ("description", "rules")
RULE_KEYS = ("id", "description", "on", "schedule", "when", "then", "once_per", "enabled")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def pack_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name not in NOT_PACKS and p.is_file())


def load_pack(path: Path, groups: Mapping[str, str] | None = None) -> Pack:
    """Parse and validate one file; raises PackError at the first problem, with nothing kept."""
    name = path.name
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise PackError(name, None, "(file)", f"cannot be read: {exc.strerror}") from exc
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PackError(name, None, "(file)", f"is not valid YAML{line}: {getattr(exc, 'problem', exc)}") from exc
    where = Where(name, None, "")
    if not isinstance(raw, dict):
        raise where.at("(top)").error("a pack is a mapping with a `rules:` list", PACK_KEYS)
    for key in raw:
        if key not in PACK_KEYS:
            raise where.at(str(key)).error(f"unknown key {key!r} at the top of the pack", PACK_KEYS)
    items = raw.get("rules")
    if not isinstance(items, list):
        raise where.at("rules").error("`rules` must be a list of rules")
    seen: set[str] = set()
    parsed: list[Rule] = []
    for index, item in enumerate(items):
        rule = _rule(item, where.at("rules").at(index), name, sha256, groups)
        if rule.id in seen:
            raise (
                where.for_rule(rule.id)
                .at("rules")
                .at(index)
                .at("id")
                .error(f"rule id {rule.id!r} is defined twice in this pack; ids must be unique")
            )
        seen.add(rule.id)
        parsed.append(rule)
    return Pack(name, str(path), sha256, str(raw.get("description") or ""), tuple(parsed))


def _rule(raw: Any, where: Where, pack: str, sha256: str, groups: Mapping[str, str] | None) -> Rule:
    if not isinstance(raw, dict):
        raise where.error("a rule is a mapping with id, on (or schedule), when and then", RULE_KEYS)
    # YAML 1.1 (PyYAML) reads a bare `on:` key as the boolean True.
    if True in raw:
        if "on" in raw:
            raise where.error("`on` is given twice")
        raw = {("on" if key is True else key): value for key, value in raw.items()}
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise where.at("id").error(
            f"every rule needs an id of lower-case letters, digits, '.', '-' or '_'; got {rule_id!r}"
        )
    where = where.for_rule(rule_id)
    for key in raw:
        if key not in RULE_KEYS:
            raise where.at(str(key)).error(f"unknown key {key!r} in a rule", RULE_KEYS)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise where.at("enabled").error("`enabled` is true or false")
    description = str(raw.get("description") or "")
    if not enabled and not ({"on", "schedule", "when", "then"} & raw.keys()):
        return Rule(rule_id, pack, sha256, description, None, None, (), (), False)
    triggers = [name for name in TRIGGERS if name in raw]
    if len(triggers) != 1:
        raise where.error(
            "a rule needs exactly one trigger: `on` (event kinds) or `schedule`"
            + (f"; it has {' and '.join(triggers)}" if triggers else ""),
            sorted(TRIGGERS),
        )
    trigger = TRIGGERS[triggers[0]].parse(raw[triggers[0]], where.at(triggers[0]))
    condition = parse_condition(raw["when"], where.at("when"), groups) if raw.get("when") is not None else None
    then = raw.get("then")
    if not isinstance(then, list) or not then:
        raise where.at("then").error("`then` must be a non-empty list of actions")
    actions = tuple(parse_action(item, where.at("then").at(i)) for i, item in enumerate(then))
    once_raw = raw.get("once_per", [])
    once = [once_raw] if isinstance(once_raw, str) else once_raw
    if not isinstance(once, list):
        raise where.at("once_per").error("`once_per` takes a field or a list of fields, e.g. [epic.key, iteration.key]")
    once_per = tuple(check_field(f, where.at("once_per").at(i), groups) for i, f in enumerate(once))
    return Rule(rule_id, pack, sha256, description, trigger, condition, actions, once_per, enabled)


def load_folders(folders: list[Path], groups: Mapping[str, str] | None = None) -> RuleSet:
    """Load every pack of every folder in order; later folders override earlier ones by rule id."""
    packs: list[Pack] = []
    effective: dict[str, Rule] = {}
    for folder in folders:
        defined_here: dict[str, str] = {}
        for path in pack_files(folder):
            pack = load_pack(path, groups)
            for index, rule in enumerate(pack.rules):
                if rule.id in defined_here:
                    raise PackError(
                        pack.name,
                        rule.id,
                        f"rules[{index}].id",
                        f"rule id {rule.id!r} is also defined in {defined_here[rule.id]} in the same folder; "
                        "rename one, or override it from the project's PVM_RULES_DIR",
                    )
                defined_here[rule.id] = pack.name
                effective[rule.id] = rule  # a dict keeps the first position, so an override stays in place
            packs.append(pack)
    return RuleSet(tuple(packs), tuple(rule for rule in effective.values() if rule.enabled))


def load_rules(rules_dir: Path | None = None) -> RuleSet:
    """The shipped packs, then the project's PVM_RULES_DIR; stakeholder groups come from the project's taxonomy."""
    folders = [BUILTIN_DIR] if rules_dir is None else [BUILTIN_DIR, rules_dir]
    try:
        groups = taxonomy.load_for(rules_dir).groups
    except taxonomy.TaxonomyError as exc:  # conditions name stakeholder groups, so the taxonomy must load first
        raise PackError("taxonomy.yaml", None, "(file)", str(exc)) from exc
    return load_folders(folders, groups)
