"""Reacting to events with the loaded rules, inside the caller's transaction, and recording every firing.

`react` is called by the pipeline after an event's state change, in the same transaction: each matching rule runs
in its own SAVEPOINT, so a failing rule leaves nothing half-written, is recorded as `rule.failed` and the others
still run. `run_scheduled` is the clock's entry point for rules with a `schedule`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.errors import PackError
from rules.fields import resolve
from rules.loader import load_rules
from rules.model import Rule, RuleSet
from rules.scope import Scope
from rules.triggers import Schedule
from service.config import ConfigError, Settings
from service.domain import once, taxonomy
from service.domain.events import Event
from service.domain.kinds import Kind
from service.domain.payloads import IterationDue, RoundDue
from service.facts import SqlFacts
from service.jobs import run_once
from service.rule_context import SessionContext
from service.runtime import Runtime
from service.storage.models import CheckinRound, Iteration

log = logging.getLogger(__name__)

FIRED = "fired"
FAILED = "failed"
NOT_MATCHED = "not-matched"
ALREADY_FIRED = "already-fired"
CLOCK_SOURCE = "clock"


@dataclass(frozen=True)
class ActionOutcome:
    action: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Firing:
    """What one rule did (or why it did nothing) for one event."""

    rule_id: str
    pack: str
    pack_sha256: str
    event: Event
    status: str  # fired | failed | not-matched | already-fired
    actions: tuple[ActionOutcome, ...] = ()
    error: str | None = None
    failed_action: str | None = None
    detail: str = ""

    @property
    def acted(self) -> bool:
        return self.status in (FIRED, FAILED)


@lru_cache(maxsize=8)
def _rules_in(rules_dir: Path | None) -> RuleSet:
    return load_rules(rules_dir)


def rules_for(settings: Settings) -> RuleSet:
    """The rule set in effect (shipped packs, then PVM_RULES_DIR), loaded once per folder."""
    return _rules_in(settings.rules_dir)


def check_rules(settings: Settings) -> RuleSet:
    """At start: a malformed pack stops the service with the pack's own message."""
    try:
        return rules_for(settings)
    except PackError as exc:
        where = f" (PVM_RULES_DIR={settings.rules_dir})" if settings.rules_dir else ""
        raise ConfigError(f"rule pack invalid{where}: {exc}. Fix it and check with `pvm rules check`.") from exc


def react(
    session: Session,
    events: list[Event],
    *,
    settings: Settings,
    now: datetime | None = None,
    rules: RuleSet | None = None,
    cause: str | None = None,
) -> list[Firing]:
    """Run every rule that matches each event; returns the firings (fired or failed), in order.

    cause: what the outbox rows are traced back to, e.g. `delivery:12` (the rule id is added).
    """
    found = evaluate(session, events, settings=settings, now=now, rules=rules, cause=cause)
    return [firing for firing in found if firing.acted]


def evaluate(
    session: Session,
    events: list[Event],
    *,
    settings: Settings,
    now: datetime | None = None,
    rules: RuleSet | None = None,
    cause: str | None = None,
) -> list[Firing]:
    """Like `react`, but also reports the rules whose trigger matched and did nothing (for `pvm rules test`)."""
    ruleset = rules if rules is not None else rules_for(settings)
    moment = now or datetime.now(UTC)
    vocabulary = taxonomy.load_for(settings.rules_dir)
    results: list[Firing] = []
    for event in events:
        candidates = ruleset.for_kind(event.kind)
        if not candidates:
            continue
        scope = Scope(event, SqlFacts(session, event, moment, vocabulary), moment)
        for rule in candidates:
            results.append(_apply(session, rule, scope, cause, settings, vocabulary))
    return results


def _apply(
    session: Session, rule: Rule, scope: Scope, cause: str | None, settings: Settings, vocabulary: taxonomy.Taxonomy
) -> Firing:
    event = scope.event

    def result(status: str, **details: Any) -> Firing:
        return Firing(rule.id, rule.pack, rule.pack_sha256, event, status, **details)

    ctx = SessionContext(session, scope, rule.id, _cause(rule, cause), settings, vocabulary)
    current: str | None = None
    try:
        with session.begin_nested():
            if rule.condition is not None and not rule.condition.holds(scope):
                return result(NOT_MATCHED, detail=f"condition not met: {rule.condition.explain()}")
            combination = _once_per(rule, scope)
            # Claimed inside the rule's savepoint: if the rule then fails, the claim is undone with everything else.
            if combination is not None and not ctx.claim(once.rule_fired(rule.id, combination)):
                return result(ALREADY_FIRED, detail=f"already fired once for {combination}")
            outcomes: list[ActionOutcome] = []
            for action in rule.actions:
                current = action.name
                outcomes.append(ActionOutcome(action.name, action.run(ctx)))
            current = None
            ctx.log(
                Kind.RULE_FIRED,
                event.subject,
                {
                    "rule": rule.id,
                    "pack": rule.pack,
                    "pack_sha256": rule.pack_sha256,
                    "event": {"kind": event.kind, "subject": event.subject, "source": event.source},
                    "actions": [{"action": o.action, **o.args} for o in outcomes],
                    **({"once": combination} if combination is not None else {}),
                },
            )
            log.info("rule %s (%s) fired on %s %s (%s)", rule.id, rule.pack, event.kind, event.subject, cause)
            return result(FIRED, actions=tuple(outcomes))
    except Exception as exc:  # any failure of one rule is recorded and must not stop the others
        error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "rule %s (%s) failed on %s %s (%s): %s", rule.id, rule.pack, event.kind, event.subject, cause, error
        )
        ctx.log(
            Kind.RULE_FAILED,
            event.subject,
            {
                "rule": rule.id,
                "pack": rule.pack,
                "pack_sha256": rule.pack_sha256,
                "event": {"kind": event.kind, "subject": event.subject, "source": event.source},
                "action": current,
                "error": error,
            },
        )
        return result(FAILED, error=error, failed_action=current)


def _cause(rule: Rule, cause: str | None) -> str:
    return (f"rule:{rule.id}" + (f" {cause}" if cause else ""))[:300]


def _once_per(rule: Rule, scope: Scope) -> str | None:
    if not rule.once_per:
        return None
    return " ".join(f"{f}={resolve(f, scope.event_view, scope.facts)}" for f in rule.once_per)


# --- the clock ----------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    firings: list[Firing] = field(default_factory=list)


def scheduled_events(session: Session, each: str, at: datetime) -> list[Event]:
    """One event per item a scheduled rule runs over: every open check-in round, or every active iteration."""
    if each == "open_round":
        rounds = session.scalars(select(CheckinRound).where(CheckinRound.status == "open").order_by(CheckinRound.id))
        return [
            Event(
                kind=Kind.CLOCK_OPEN_ROUND,
                source=CLOCK_SOURCE,
                subject=f"checkin-round:{r.id}",
                actor=CLOCK_SOURCE,
                occurred_at=at,
                data=RoundDue(round=r.id, hypothesis=r.hypothesis_id, iteration=r.iteration_key, kind=r.kind),
            )
            for r in rounds
        ]
    iterations = session.scalars(select(Iteration.key).where(Iteration.state == "active").order_by(Iteration.key))
    return [
        Event(
            kind=Kind.CLOCK_ACTIVE_ITERATION,
            source=CLOCK_SOURCE,
            subject=key,
            actor=CLOCK_SOURCE,
            occurred_at=at,
            data=IterationDue(iteration=key),
        )
        for key in iterations
    ]


def run_scheduled(runtime: Runtime, now: datetime | None = None) -> int:
    """Run every scheduled rule at its latest fire time (within the last day); returns how many firings acted.

    Each (rule, fire time) runs at most once, even with a second clock or a re-run: `jobs.run_once` keys.
    """

    moment = now or datetime.now(UTC)
    ruleset = rules_for(runtime.settings)
    tally = _Tally()
    for rule in ruleset.scheduled():
        assert isinstance(rule.trigger, Schedule)
        each, fire_time = rule.trigger.each, rule.trigger.latest_fire_time(moment)
        if fire_time is None:
            continue

        def job(rt: Runtime, rule: Rule = rule, fire_time: datetime = fire_time, each: str = each) -> None:
            with rt.transaction() as session:
                found = scheduled_events(session, each, fire_time)
                tally.firings.extend(
                    react(
                        session,
                        found,
                        settings=rt.settings,
                        now=moment,
                        rules=RuleSet(ruleset.packs, (rule,)),
                        cause=f"schedule:{fire_time:%Y-%m-%dT%H:%MZ}",
                    )
                )

        run_once(runtime, f"rule:{rule.id}:{fire_time:%Y-%m-%dT%H:%MZ}"[:300], job)
    return len(tally.firings)
