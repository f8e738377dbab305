"""`pvm rules check [DIR]` (offline validation) and `pvm rules test EVENT.json` (a dry run against the state)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from integrations import registry
from integrations.base import Identity
from rules.errors import PackError
from rules.loader import load_rules
from rules.model import RuleSet
from service import pipeline
from service.cli.context import fail, load_runtime, require_schema
from service.config import ConfigError, Settings
from service.domain.events import Event, Ignored
from service.domain.payloads import problems, recorded
from service.inbox.payloads import events_of
from service.reactions import FIRED, Firing, evaluate
from service.untrusted import Refused, read_json

DOMAIN_KEYS = ("kind", "source", "subject", "actor", "data")


def register(cli: click.Group) -> None:
    @cli.group("rules")
    def rules_group() -> None:
        """Rule packs: check them, try them."""

    @rules_group.command("check")
    @click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
    def check(folder: Path | None) -> None:
        """Validate the shipped packs and FOLDER (default: PVM_RULES_DIR) without a database."""
        if folder is None:
            try:
                folder = Settings.from_env().rules_dir
            except ConfigError as exc:
                fail(str(exc), 2)
        try:
            ruleset = load_rules(folder.resolve() if folder else None)
        except PackError as exc:
            fail(str(exc), 1)
        for pack in ruleset.packs:
            click.echo(f"{pack.path}\tsha256 {pack.sha256}\t{len(pack.rules)} rule(s)")
        click.echo(f"OK {len(ruleset.packs)} pack(s), {len(ruleset.rules)} rule(s) in effect")

    @rules_group.command("test")
    @click.argument("event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--source", type=click.Choice(["github", "jira", "gitlab"]), help="The file is a raw payload of it.")
    @click.option("--event", "event_name", help="The webhook event name (GitHub: the X-GitHub-Event header).")
    def test(event_file: Path, source: str | None, event_name: str | None) -> None:
        """Show which rules match EVENT.json and what they would do, against the current state; changes nothing.

        EVENT.json is a domain event ({"kind", "source", "subject", "actor", "data"}, or a list of them), or a
        raw tracker payload with --source (GitHub also needs --event, e.g. issues).
        """
        try:
            payload = read_json(event_file.read_bytes())  # the intake's limits: what a tracker could send
        except OSError as exc:
            fail(f"{event_file}: cannot be read: {exc.strerror}", 2)
        except Refused as exc:
            fail(f"{event_file}: {exc}", 2)
        events = _raw_events(payload, source, event_name) if source else _domain_events(payload, event_file)
        rt = load_runtime()
        require_schema(rt)
        try:
            ruleset = load_rules(rt.settings.rules_dir)
        except PackError as exc:
            fail(str(exc), 1)
        session = rt.sessions()
        try:
            # A raw payload goes through the real pipeline first, so the rules see what the worker's rules would
            # see (derived events such as label.unknown included); a domain event is taken as what happened.
            # Everything written (state, outbox rows, rounds, log entries) is rolled back below; the dispatcher
            # never sees it, so nothing reaches a tracker.
            with session.begin():
                happened = (
                    [found for event in events for found in pipeline.handle(session, event, rt.settings)]
                    if source
                    else events
                )
                firings = evaluate(
                    session,
                    happened,
                    settings=rt.settings,
                    now=datetime.now(UTC),
                    rules=ruleset,
                    cause="pvm rules test, rolled back",  # so the log's "fired" lines say they were a dry run
                )
                session.rollback()
        finally:
            session.close()
        _show(happened, firings, ruleset)


def _domain_events(payload: Any, path: Path) -> list[Event]:
    items = payload if isinstance(payload, list) else [payload]
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not {"kind", "subject"} <= item.keys():
            fail(
                f"{path}: item {index} is not a domain event (needs {', '.join(DOMAIN_KEYS)}); "
                "for a raw tracker payload pass --source github|jira (and --event NAME for GitHub)",
                2,
            )
        data = item.get("data") or {}
        if not isinstance(data, Mapping):
            fail(f"{path}: item {index}: `data` must be an object", 2)
        kind = str(item["kind"])
        try:
            payload = recorded(kind, data)
        except ValidationError as exc:  # data that kind cannot carry
            fail(f"{path}: item {index} ({kind}): {problems(exc)}", 2)
        except ValueError as exc:  # an unknown kind
            fail(f"{path}: item {index}: {exc}", 2)
        events.append(
            Event(
                kind=kind,
                source=str(item.get("source") or "test"),
                subject=str(item["subject"]),
                actor=str(item.get("actor") or "pvm-rules-test"),
                data=payload,
            )
        )
    return events


def _raw_events(payload: Any, source: str, event_name: str | None) -> list[Event]:
    if not isinstance(payload, Mapping):
        fail(f"a raw {source} payload is a JSON object", 2)
    try:
        integration = registry.get(source)
    except registry.UnknownTracker as exc:
        fail(str(exc), 2)
    headers = {"x-github-event": event_name} if event_name else {}
    if event_name:
        headers["x-gitlab-event"] = event_name
    try:
        identity = integration.identify(headers, payload)
    except ValueError as exc:
        if not event_name:
            fail(f"{exc}; pass --event NAME", 2)
        identity = Identity(event=event_name, delivery_id=None, action=payload.get("action"))
    try:
        result = events_of(integration, identity, dict(payload))  # the steps of intake and the worker
    except ValueError as exc:  # Unacceptable / WebhookError: intake would answer 400
        fail(f"the {source} integration cannot read this payload: {exc}", 2)
    if isinstance(result, Ignored):
        click.echo(f"the {source} integration ignores this payload: {result.reason}")
        return []
    return list(result)


def _show(events: list[Event], firings: list[Firing], ruleset: RuleSet) -> None:
    if not events:
        click.echo("no domain events, so no rules run")
        return
    for event in events:
        click.echo(f"event {event.kind} {event.subject}")
        click.echo(f"  data {json.dumps(dict(event.data), default=str, sort_keys=True)}")
        mine = [f for f in firings if f.event is event]
        if not mine:
            click.echo("  no rule reacts to this kind")
        for firing in mine:
            where = f"{firing.pack} sha256 {firing.pack_sha256[:12]}"
            if firing.status == FIRED:
                click.echo(f"  rule {firing.rule_id} ({where}): would fire")
                for outcome in firing.actions:
                    _show_action(outcome.action, outcome.args)
            elif firing.error:
                click.echo(f"  rule {firing.rule_id} ({where}): would FAIL in {firing.failed_action}: {firing.error}")
            else:
                click.echo(f"  rule {firing.rule_id} ({where}): does not fire, {firing.detail}")
    fired = sum(1 for f in firings if f.status == FIRED)
    click.echo(f"{fired} rule(s) would fire; nothing was changed or sent")


def _show_action(name: str, args: dict[str, Any]) -> None:
    """Arguments as JSON, except comment texts, which are shown as the Markdown a reader would see."""
    comments = args.get("comments", [])
    rest = {key: value for key, value in args.items() if key != "comments"}
    click.echo(f"    {name} {json.dumps(rest, default=str, sort_keys=True)}" if rest else f"    {name}")
    for comment in comments:
        click.echo(f"      on {comment['target']}:")
        for line in str(comment["text"]).splitlines():
            click.echo(f"        | {line}")
