"""The action registry: what a rule may do. Built-ins are below; integrations add theirs with `register_action`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar

from rules.context import ActionContext
from rules.durations import parse_duration
from rules.errors import Where
from rules.fields import check_field, resolve
from rules.scope import Scope
from rules.templates import Text
from service.domain.keys import tracker_of
from service.domain.kinds import Kind
from service.domain.once import alert_raised, alert_raised_in, summary_posted

# Where a comment or label goes: a shortcut, or any field whose value is a key or a list of keys.
TARGETS = {
    "subject": "event.subject",
    "epic": "epic.key",
    "hypothesis_epic": "hypothesis.epic",
    "iteration_epics": "iteration.epics",
}
ROUND_KINDS = ("iteration", "ex-post")
ALERT_ONCE = ("iteration", "epic", "always")


class ActionError(RuntimeError):
    """An action that cannot do its work for this event; recorded as `rule.failed`."""


class Action:
    """One step of a rule's `then`. `run` does the work through `ctx` and returns what it did, as plain data."""

    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        raise NotImplementedError

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        raise NotImplementedError


ACTIONS: dict[str, type[Action]] = {}
# Packages add actions without touching this module: an entry point in this group names an Action subclass.
ENTRY_POINT_GROUP = "pvm.actions"
_plugins_loaded = False


def register_action(cls: type[Action]) -> type[Action]:
    """Add an action to the registry (usable as a decorator); integrations call this for their own actions."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__} needs a `name` to be registered as an action")
    ACTIONS[cls.name] = cls
    return cls


def load_plugin_actions() -> None:
    """Register the actions other packages declare under `pvm.actions`, once, before the first pack is parsed."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Action)):
            raise TypeError(f"entry point {entry.name} = {entry.value} is not a rules.actions.Action subclass")
        register_action(cls)
    _plugins_loaded = True


def parse_action(raw: Any, where: Where) -> Action:
    """`{comment: {target: epic, text: ...}}`: one registry name mapped to its parameters."""
    load_plugin_actions()
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise where.error("an action is a mapping with exactly one action name, e.g. {comment: {text: ...}}", ACTIONS)
    ((name, params),) = raw.items()
    cls = ACTIONS.get(str(name))
    if cls is None:
        raise where.error(f"unknown action {name!r}", sorted(ACTIONS))
    at = where.at(str(name))
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise at.error(f"the parameters of {name!r} must be a mapping", cls.keys)
    unknown = [str(k) for k in params if k not in cls.keys]
    if unknown:
        raise at.at(unknown[0]).error(f"unknown parameter {unknown[0]!r} for action {name!r}", cls.keys)
    for key in cls.required:
        if key not in params:
            raise at.at(key).error(f"action {name!r} needs {key!r}", cls.keys)
    return cls.parse(params, at)


def _choice(params: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str, where: Where) -> str:
    value = params.get(key, default)
    if value not in choices:
        raise where.at(key).error(f"unknown {key} {value!r}", choices)
    return str(value)


def _target(params: Mapping[str, Any], default: str, where: Where) -> str:
    value = params.get("target", default)
    if value in TARGETS:
        return TARGETS[value]
    if isinstance(value, str) and "." in value:
        return check_field(value, where.at("target"))
    raise where.at("target").error(
        f"unknown target {value!r}; use a shortcut or a field holding keys", [*TARGETS, "<field>"]
    )


def resolve_targets(target: str, scope: Scope) -> list[str]:
    """The keys an action acts on; empty when the event has no such thing (e.g. a ticket without an epic)."""
    value = resolve(target, scope.event_view, scope.facts)
    found = value if isinstance(value, list | tuple) else [value]
    return [str(key) for key in found if key]


def post_comment(ctx: ActionContext, target: str, text: str) -> None:
    ctx.enqueue(tracker=tracker_of(target), action="comment", target=target, body={"text": text})


@register_action
@dataclass(frozen=True)
class Comment(Action):
    """Comment on the event's subject, its epic, the hypothesis's epic or every epic in the iteration."""

    name: ClassVar[str] = "comment"
    keys: ClassVar[tuple[str, ...]] = ("text", "target")
    required: ClassVar[tuple[str, ...]] = ("text",)
    default_target: ClassVar[str] = "subject"
    text: Text
    target: str

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        return cls(Text(params["text"], where.at("text")), _target(params, cls.default_target, where))

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"comments": self.post(ctx)}

    def post(self, ctx: ActionContext, prefix: str = "", **extra: Any) -> list[dict[str, str]]:
        """Render and queue the comment on every resolved target; what was queued, for the log."""
        posted = []
        for target in resolve_targets(self.target, ctx.scope):
            text = prefix + self.text.render(ctx.scope, target=target, **extra)
            post_comment(ctx, target, text)
            posted.append({"target": target, "text": text})
        return posted


@dataclass(frozen=True)
class _LabelAction(Action):
    keys: ClassVar[tuple[str, ...]] = ("label", "target")
    required: ClassVar[tuple[str, ...]] = ("label",)
    label: Text
    target: str

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        return cls(Text(str(params["label"]), where.at("label")), _target(params, "subject", where))

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        targets = resolve_targets(self.target, ctx.scope)
        label = self.label.render(ctx.scope)
        if not label:
            raise ActionError(f"{self.name}: the label template gave an empty name")
        for target in targets:
            ctx.enqueue(tracker=tracker_of(target), action=self.name, target=target, body={"label": label})
        return {"targets": targets, "label": label}


@register_action
@dataclass(frozen=True)
class AddLabel(_LabelAction):
    name: ClassVar[str] = "add_label"


@register_action
@dataclass(frozen=True)
class RemoveLabel(_LabelAction):
    name: ClassVar[str] = "remove_label"


@register_action
@dataclass(frozen=True)
class PostSummary(Action):
    """Post the iteration's sprint value summary (Markdown) on each target and, with `report: true`, on the report
    issue the operator configured for the iteration's tracker. Once per iteration and issue, however often the
    iteration is closed again."""

    name: ClassVar[str] = "post_summary"
    keys: ClassVar[tuple[str, ...]] = ("target", "report")
    required: ClassVar[tuple[str, ...]] = ()
    target: str
    report: bool

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        report = params.get("report", True)
        if not isinstance(report, bool):
            raise where.at("report").error(f"report must be true or false, got {report!r}", ("true", "false"))
        return cls(_target(params, "iteration_epics", where), report)

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        found = ctx.facts.get("iteration.key")
        if found is None:
            raise ActionError("post_summary needs an event about an iteration (e.g. on: iteration.closed)")
        iteration = str(found)
        targets = resolve_targets(self.target, ctx.scope)
        report = ctx.report_issue(tracker_of(iteration)) if self.report else None
        if report is not None and report not in targets:
            targets.append(report)
        wanted = [target for target in targets if ctx.claim(summary_posted(iteration, target))]
        if wanted:
            text = ctx.summary(iteration)
            for target in wanted:
                post_comment(ctx, target, text)
        return {"iteration": iteration, "posted_on": wanted, "already_posted": [t for t in targets if t not in wanted]}


@register_action
@dataclass(frozen=True)
class OpenCheckinRound(Action):
    """Open one check-in round per active hypothesis in scope; a second opening for the same key does nothing.

    kind `iteration`: the hypotheses of every epic with work in the event's iteration (key iteration:<it>:<h>).
    kind `ex-post`: the hypotheses of the event's epic (key ex-post:<epic>:<h>).
    `remind_before`: how long before the deadline those who have not answered are reminded, once (default: half
    the time the round runs).
    """

    name: ClassVar[str] = "open_checkin_round"
    keys: ClassVar[tuple[str, ...]] = ("kind", "deadline", "remind_before")
    required: ClassVar[tuple[str, ...]] = ("kind", "deadline")
    kind: str
    deadline_text: str
    remind_before_text: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        kind = _choice(params, "kind", ROUND_KINDS, "iteration", where)
        durations = {}
        for name in ("deadline", "remind_before"):
            if name not in params:
                continue
            try:
                durations[name] = parse_duration(params[name])
            except ValueError as exc:
                raise where.at(name).error(str(exc)) from exc
        remind = durations.get("remind_before")
        if remind is not None and remind >= durations["deadline"]:
            raise where.at("remind_before").error(
                f"remind_before ({params['remind_before']}) must be shorter than the deadline ({params['deadline']})"
            )
        return cls(kind, str(params["deadline"]), str(params["remind_before"]) if "remind_before" in params else None)

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        iteration: str | None
        if self.kind == "iteration":
            found = ctx.facts.get("iteration.key")
            if not found:
                raise ActionError("open_checkin_round (iteration): the event names no iteration")
            iteration = scope_key = str(found)
            ids = list(ctx.facts.get("iteration.active_hypothesis_ids") or [])
        else:
            epic = ctx.facts.get("epic.key")
            if not epic:
                raise ActionError("open_checkin_round (ex-post): the event names no epic")
            iteration, scope_key = None, str(epic)
            ids = list(ctx.facts.get("epic.active_hypothesis_ids") or [])
        runs = parse_duration(self.deadline_text)
        deadline = ctx.now + runs
        remind_at = deadline - (parse_duration(self.remind_before_text) if self.remind_before_text else runs / 2)
        opened: list[int] = []
        existing: list[int] = []
        for hypothesis_id in ids:
            opening = ctx.open_round(
                hypothesis_id=hypothesis_id,
                kind=self.kind,
                iteration=iteration,
                deadline=deadline,
                unique_key=f"{self.kind}:{scope_key}:{hypothesis_id}",
                remind_at=remind_at,
            )
            (opened if opening.opened else existing).append(opening.round_id)
        return {
            "kind": self.kind,
            "scope": scope_key,
            "hypotheses": ids,
            "opened": opened,
            "already_open": existing,
            "deadline": deadline.isoformat(),
            "remind_at": remind_at.isoformat(),
        }


@register_action
@dataclass(frozen=True)
class Alert(Action):
    """A warning on the epic(s): a comment plus a `value.alert` value-log entry naming the alert type.

    `once` keeps an alert from repeating with every answer: once per `iteration` (default), per `epic`, or `always`.
    """

    name: ClassVar[str] = "alert"
    keys: ClassVar[tuple[str, ...]] = ("type", "text", "target", "once")
    required: ClassVar[tuple[str, ...]] = ("type", "text")
    type: str
    text: Text
    target: str
    once: str

    @classmethod
    def parse(cls, params: Mapping[str, Any], where: Where) -> Action:
        kind = params["type"]
        if not isinstance(kind, str) or not kind.strip():
            raise where.at("type").error("an alert type is a short name such as co-destruction or divergence")
        return cls(
            kind,
            Text(params["text"], where.at("text")),
            _target(params, "epic", where),
            _choice(params, "once", ALERT_ONCE, "iteration", where),
        )

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        found = ctx.facts.get("iteration.key")
        iteration = None if found is None else str(found)
        raised: list[dict[str, str]] = []
        repeated: list[str] = []
        for target in resolve_targets(self.target, ctx.scope):
            if not self._raise(ctx, target, iteration):
                repeated.append(target)
                continue
            text = self.text.render(ctx.scope, target=target)
            post_comment(ctx, target, text)
            ctx.log(
                Kind.VALUE_ALERT,
                target,
                {
                    "type": self.type,
                    "iteration": iteration,
                    "rule": ctx.rule_id,
                    "event": ctx.scope.event.kind,
                    "text": text,
                },
            )
            raised.append({"target": target, "text": text})
        return {"type": self.type, "comments": raised, "already_raised": repeated}

    def _raise(self, ctx: ActionContext, target: str, iteration: str | None) -> bool:
        """Claim this alert on the target; False when `once` says it was raised already.

        Both keys are claimed for every alert raised, whatever its own `once`, so a later alert of the same type
        with another `once` is judged by it too.
        """
        per_epic = alert_raised(self.type, target)
        per_iteration = alert_raised_in(self.type, target, iteration)
        deciding = {"epic": per_epic, "iteration": per_iteration}.get(self.once)
        if deciding is not None and not ctx.claim(deciding):
            return False
        for key in (per_epic, per_iteration):
            if key != deciding:
                ctx.claim(key)
        return True


@register_action
@dataclass(frozen=True)
class NotifyOwner(Comment):
    """Escalate to the hypothesis owner: a comment on the hypothesis's epic that mentions the owner."""

    name: ClassVar[str] = "notify_owner"
    default_target: ClassVar[str] = "hypothesis_epic"

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        owner = ctx.facts.get("hypothesis.owner")
        if not owner:
            raise ActionError("notify_owner: the hypothesis has no owner; set `owner` on it")
        mention = owner if str(owner).startswith("@") else f"@{owner}"
        return {"owner": owner, "comments": self.post(ctx, prefix=f"{mention} ", owner=owner)}
