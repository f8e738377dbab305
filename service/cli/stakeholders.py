"""`pvm stakeholder add|list|assign|unassign|erase`: who is asked for check-ins, from the command line."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.checkins import stakeholders
from service.checkins.stakeholders import NewStakeholder, StakeholderInvalid, StakeholderUnknown
from service.cli.context import fail, load_runtime, require_schema
from service.domain.taxonomy import load_for
from service.runtime import Runtime
from service.storage.models import Hypothesis, Stakeholder

CLI_ACTOR = "cli"


def _runtime() -> Runtime:
    rt = load_runtime()
    require_schema(rt)
    return rt


def _invalid(exc: StakeholderInvalid) -> str:
    return "; ".join(f"{problem.path}: {problem.message}" for problem in exc.problems)


def register(cli: click.Group) -> None:
    @cli.group("stakeholder")
    def group() -> None:
        """Stakeholders: people and bodies asked for check-ins."""

    @group.command("add")
    @click.option("--name", required=True, help="The person's or body's name, as shown to product owners.")
    @click.option("--group", "group_", required=True, help="Their stakeholder group, e.g. citizen, civil-servant.")
    @click.option("--email", help="Asked by e-mail (when they have no account on the epic's tracker).")
    @click.option("--github", help="Their GitHub login: asked in a comment on GitHub epics.")
    @click.option("--jira", help="Their Jira account id: asked in a comment on Jira epics.")
    @click.option("--webhook-url", help="Asked through this webhook (Slack, Teams, ...); signed per Standard Webhooks.")
    @click.option("--scope", multiple=True, help="A project they follow (github:owner/repo, jira:PRM); repeatable.")
    def add(
        name: str,
        group_: str,
        email: str | None,
        github: str | None,
        jira: str | None,
        webhook_url: str | None,
        scope: tuple[str, ...],
    ) -> None:
        """Add a stakeholder; prints the new id (and, with --webhook-url, the webhook's signing secret, once)."""
        rt = _runtime()
        raw: dict[str, object] = {"name": name, "group": group_, "email": email, "github": github, "jira": jira}
        raw |= {"webhook_url": webhook_url, "scope": list(scope)}
        try:
            fields = stakeholders.parse(NewStakeholder, {k: v for k, v in raw.items() if v is not None})
            with rt.transaction() as session:
                saved = stakeholders.add(
                    session, rt.settings, load_for(rt.settings.rules_dir), fields, actor=CLI_ACTOR, source="cli"
                )
        except StakeholderInvalid as exc:
            fail(_invalid(exc), 2)
        click.echo(saved.person.id)
        if saved.webhook_secret:
            click.echo("the webhook's signing secret (shown once; give it to whoever receives the webhook):", err=True)
            click.echo(saved.webhook_secret)

    @group.command("list")
    @click.option("--group", "group_", help="Only this stakeholder group.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def list_(group_: str | None, as_json: bool) -> None:
        """List stakeholders: id, group, name, channels, scope."""
        rt = _runtime()
        with rt.transaction() as session:
            query = select(Stakeholder).order_by(Stakeholder.id)
            if group_:
                query = query.where(Stakeholder.group == group_)
            for person in session.scalars(query):
                shown = stakeholders.as_dict(person, personal=True)
                if as_json:
                    click.echo(json.dumps(shown, sort_keys=True))
                else:
                    channels = ",".join(shown["channels"]) or "link"
                    scope = ",".join(shown["scope"]) or "all projects"
                    click.echo(f"{person.id}\t{person.group}\t{person.name}\t{channels}\t{scope}")

    @group.command("assign")
    @click.argument("stakeholder_id", type=int)
    @click.option("--hypothesis", "hypothesis_id", required=True, type=int, help="The hypothesis they are asked about.")
    def assign(stakeholder_id: int, hypothesis_id: int) -> None:
        """Assign a stakeholder to a hypothesis: from then on only assigned people are asked about it."""
        rt = _runtime()
        try:
            with rt.transaction() as session:
                hypothesis, person = _hypothesis(session, hypothesis_id), stakeholders.get(session, stakeholder_id)
                added = stakeholders.assign(session, hypothesis, person, actor=CLI_ACTOR, source="cli")
        except (StakeholderUnknown, LookupError) as exc:
            fail(str(exc).strip("'\""), 2)
        except StakeholderInvalid as exc:
            fail(_invalid(exc), 2)
        click.echo(
            f"stakeholder {stakeholder_id} {'assigned to' if added else 'was already on'} hypothesis {hypothesis_id}"
        )

    @group.command("unassign")
    @click.argument("stakeholder_id", type=int)
    @click.option("--hypothesis", "hypothesis_id", required=True, type=int)
    def unassign(stakeholder_id: int, hypothesis_id: int) -> None:
        """Take a stakeholder off a hypothesis."""
        rt = _runtime()
        try:
            with rt.transaction() as session:
                hypothesis, person = _hypothesis(session, hypothesis_id), stakeholders.get(session, stakeholder_id)
                removed = stakeholders.unassign(session, hypothesis, person, actor=CLI_ACTOR, source="cli")
        except (StakeholderUnknown, LookupError) as exc:
            fail(str(exc).strip("'\""), 2)
        if not removed:
            fail(f"stakeholder {stakeholder_id} is not assigned to hypothesis {hypothesis_id}", 1)
        click.echo(f"stakeholder {stakeholder_id} taken off hypothesis {hypothesis_id}")

    @group.command("erase")
    @click.argument("stakeholder_id", type=int)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def erase(stakeholder_id: int, yes: bool) -> None:
        """Erase a person's name, contacts and answer texts (their group and scores stay); the log still verifies."""
        rt = _runtime()
        if not yes:
            click.confirm(f"Erase stakeholder {stakeholder_id}'s personal data and answer texts for good?", abort=True)
        try:
            with rt.transaction() as session:
                cleared = stakeholders.erase(
                    session, stakeholders.get(session, stakeholder_id), actor=CLI_ACTOR, source="cli"
                )
        except StakeholderUnknown as exc:
            fail(str(exc).strip("'\""), 2)
        click.echo(f"stakeholder {stakeholder_id} erased; texts removed from {cleared} answer(s)")


def _hypothesis(session: Session, hypothesis_id: int) -> Hypothesis:
    hypothesis = session.get(Hypothesis, hypothesis_id) if 0 < hypothesis_id < 2**31 else None
    if hypothesis is None:
        raise LookupError(f"no hypothesis {hypothesis_id}; list them with GET /api/v1/hypotheses")
    return hypothesis
