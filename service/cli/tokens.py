"""`pvm token create|revoke|list`."""

from __future__ import annotations

import click

from service import tokens
from service.access import ROLES
from service.cli.context import fail, load_runtime, require_schema

CLI_ACTOR = "cli"


def register(cli: click.Group) -> None:
    @cli.group("token")
    def token_group() -> None:
        """API tokens."""

    @token_group.command("create")
    @click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
    @click.option("--name", required=True, help="Who or what uses it, e.g. 'alice' or 'grafana'.")
    def create(role: str, name: str) -> None:
        """Create a token; only the token is printed on standard output."""
        rt = load_runtime()
        require_schema(rt)
        try:
            with rt.transaction() as session:
                secret = tokens.create(session, name=name, role=role, actor=CLI_ACTOR)
        except tokens.TokenError as exc:
            fail(str(exc))
        click.echo(f"token {name!r} ({role}) created; it is shown once, store it now:", err=True)
        click.echo(secret)
        click.echo("use it as: Authorization: Bearer <token>", err=True)

    @token_group.command("revoke")
    @click.argument("name")
    def revoke(name: str) -> None:
        """Revoke the token called NAME."""
        rt = load_runtime()
        require_schema(rt)
        try:
            with rt.transaction() as session:
                tokens.revoke(session, name=name, actor=CLI_ACTOR)
        except tokens.TokenError as exc:
            fail(str(exc))
        click.echo(f"token {name!r} revoked", err=True)

    @token_group.command("list")
    def list_() -> None:
        """List tokens (names and roles; secrets are never stored)."""
        rt = load_runtime()
        require_schema(rt)
        with rt.transaction() as session:
            for token in tokens.list_tokens(session):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                click.echo(f"{token.name}\t{token.role}\t{state}")
