"""`pvm replay DELIVERY_ID`: queue a stored delivery again (after a fix, or to rebuild state)."""

from __future__ import annotations

import click

from service.cli.context import fail, load_runtime, require_schema


def register(cli: click.Group) -> None:
    @cli.command("replay")
    @click.argument("delivery_id")
    @click.option("--source", help="The tracker (github, jira, ...) when two trackers used the same id.")
    def replay_command(delivery_id: str, source: str | None) -> None:
        """Queue delivery DELIVERY_ID (the tracker's id, or the inbox id) to be processed again by a worker."""
        # Imported here: the pipeline (taxonomy, integrations) is not needed to start every other command.
        from service.inbox.processing import ReplayError, replay

        rt = load_runtime()
        require_schema(rt)
        try:
            row = replay(rt, delivery_id, source)
        except ReplayError as exc:
            fail(str(exc))
        click.echo(f"delivery {row.delivery_id} ({row.source} {row.event}, inbox id {row.id}) queued again")
