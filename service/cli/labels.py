"""`pvm labels sync`: create or update the taxonomy's value labels on a repository, so teams can tag on day one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import click

from integrations.failures import RateLimited, TrackerFailure
from service.cli.context import fail
from service.config import ConfigError, Settings

if TYPE_CHECKING:  # the taxonomy and tracker clients load only when the command runs: `pvm` starts fast
    from service.domain.taxonomy import Taxonomy

GITHUB_NAME_LIMIT = 50
DESCRIPTION_LIMIT = 100
WRITE_PAUSE = 1.0  # GitHub: mutating calls at least a second apart
TRACKERS = ("github", "gitlab", "jira")


class LabelCatalogue(Protocol):
    def ensure_label(self, repo: str, name: str, colour: str, description: str) -> str: ...


@dataclass(frozen=True)
class LabelSpec:
    name: str
    colour: str
    description: str


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def label_specs(taxonomy: Taxonomy) -> list[LabelSpec]:
    """`value:<slug>` and `value-risk:<slug>` per dimension, coloured per dimension, meaning as description."""
    specs = []
    for dimension in taxonomy.dimensions.values():
        for prefix, description in (
            ("value", dimension.meaning),
            ("value-risk", f"risk of harming: {dimension.meaning}"),
        ):
            name = f"{prefix}:{dimension.slug}"
            if len(name) > GITHUB_NAME_LIMIT:
                raise ValueError(
                    f"label {name!r} is {len(name)} characters; GitHub allows {GITHUB_NAME_LIMIT}. "
                    f"Shorten the slug {dimension.slug!r} in {taxonomy.source}."
                )
            specs.append(LabelSpec(name, dimension.colour.lstrip("#").lower(), _fit(description, DESCRIPTION_LIMIT)))
    return specs


def sync_labels(
    client: LabelCatalogue,
    repo: str,
    specs: list[LabelSpec],
    pause: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[LabelSpec, str]]:
    """Yields (label, "created" | "updated" | "unchanged") as it goes; waits out rate limits, paces writes."""
    for spec in specs:
        for attempt in range(3):
            try:
                outcome = client.ensure_label(repo, spec.name, spec.colour, spec.description)
                break
            except RateLimited as limited:
                if attempt == 2:
                    raise
                pause(_wait(limited))
        if outcome != "unchanged":
            pause(WRITE_PAUSE)
        yield spec, outcome


def _wait(limited: RateLimited) -> float:
    if limited.retry_after is not None:
        return limited.retry_after
    if limited.reset_at is not None:
        return max(1.0, (limited.reset_at - datetime.now(UTC)).total_seconds() + 1)
    return 60.0


def register(cli: click.Group) -> None:
    @cli.group("labels")
    def labels_group() -> None:
        """Value labels on trackers."""

    @labels_group.command("sync")
    @click.option("--tracker", required=True, type=click.Choice(TRACKERS))
    @click.option("--repo", help="OWNER/NAME on GitHub, GROUP/PROJECT on GitLab.")
    def sync(tracker: str, repo: str | None) -> None:
        """Create or update value:<slug> and value-risk:<slug> labels from the taxonomy (idempotent)."""
        from service.domain.taxonomy import load_for
        from service.outbox.clients import factory_for

        if tracker == "jira":
            click.echo("Jira needs no label creation: a label exists as soon as a ticket carries it.", err=True)
            return
        if not repo or repo.count("/") < 1:
            fail(f"--repo is required for {tracker}: OWNER/NAME (GitHub) or GROUP/PROJECT (GitLab)", 2)
        parts = repo.split("/")
        if "" in parts or (tracker == "github" and len(parts) != 2):
            # GitHub would answer 404 for owner/name/extra, which reads as "label not found".
            fail(f"--repo {repo!r} is not OWNER/NAME (GitHub) or GROUP[/SUBGROUP]/PROJECT (GitLab)", 2)
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            fail(str(exc), 2)
        try:
            specs = label_specs(load_for(settings.rules_dir))
        except ValueError as exc:
            fail(str(exc), 2)
        factory = factory_for(tracker)
        client = factory if isinstance(factory, str) else factory(settings)
        if isinstance(client, str):
            fail(f"cannot sync labels: {client}", 2)
        if not hasattr(client, "ensure_label"):
            fail(f"the {tracker} client cannot manage labels", 2)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        try:
            for number, (spec, outcome) in enumerate(sync_labels(client, repo, specs), start=1):  # type: ignore[arg-type]
                counts[outcome] += 1
                click.echo(f"[{number}/{len(specs)}] {spec.name}: {outcome}", err=True)
        except TrackerFailure as exc:
            fail(f"label sync stopped: {exc.message}")
        click.echo(
            f"{tracker} {repo}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged"
        )
