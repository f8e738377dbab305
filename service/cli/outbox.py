"""`pvm outbox retry ID` and `pvm outbox list`: operating the outbox from a shell."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from service.api.outbox import STATUSES
from service.cli.context import fail, load_runtime, require_schema
from service.outbox.retry import RetryError, retry
from service.storage.models import OutboxItem

CLI_ACTOR = "cli"


def register(cli: click.Group) -> None:
    @cli.group("outbox")
    def outbox_group() -> None:
        """Outbound actions on trackers."""

    @outbox_group.command("retry")
    @click.argument("item_id", metavar="ID", type=int)
    def retry_(item_id: int) -> None:
        """Send a dead, failed or skipped outbox item again."""
        rt = load_runtime()
        require_schema(rt)
        try:
            with rt.transaction() as session:
                item = retry(session, item_id, actor=CLI_ACTOR)
                summary = f"outbox item {item.id} ({item.action} on {item.target}) is pending again"
        except RetryError as exc:
            fail(str(exc))
        click.echo(summary, err=True)

    @outbox_group.command("list")
    @click.option("--status", type=click.Choice(STATUSES), help="Only items with this status, e.g. dead.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print a JSON list of {id, status, attempts, tracker, action, target, error}, oldest first.",
    )
    def list_(status: str | None, limit: int, as_json: bool) -> None:
        """The newest outbox items: id, status, attempts, tracker, action, target, error."""
        rt = load_runtime()
        require_schema(rt)
        query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxItem.status == status)
        with rt.transaction() as session:
            items = list(reversed(session.scalars(query).all()))
            if as_json:
                click.echo(json.dumps([_as_json(item) for item in items], indent=2, ensure_ascii=False))
                return
            for item in items:
                click.echo(
                    f"{item.id}\t{item.status}\t{item.attempts}\t{item.tracker}\t{item.action}\t{item.target}"
                    f"\t{item.error or ''}"
                )


def _as_json(item: OutboxItem) -> dict[str, object]:
    """`outbox list --json`: one object per item, the same columns as the tab-separated lines."""
    return {
        "id": item.id,
        "status": item.status,
        "attempts": item.attempts,
        "tracker": item.tracker,
        "action": item.action,
        "target": item.target,
        "error": item.error,
    }
