"""`pvm db upgrade`."""

from __future__ import annotations

import click

from service.cli.context import load_runtime
from service.storage import migrate


def register(cli: click.Group) -> None:
    @cli.group("db")
    def db_group() -> None:
        """Database schema."""

    @db_group.command("upgrade")
    def upgrade() -> None:
        """Migrate the schema to head (safe to run again)."""
        rt = load_runtime(create=True)  # the one command besides `serve` that may make a database
        before, after = migrate.upgrade(rt.engine)
        if before == after:
            click.echo(f"schema already at head ({after})", err=True)
        else:
            click.echo(f"schema upgraded from {before or 'empty'} to {after}", err=True)
