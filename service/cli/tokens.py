"""`pvm token create|revoke|list`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

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
    @click.option(
        "--scope",
        "scope",
        multiple=True,
        help="A project it may see and write, e.g. github:acme/portal or jira:PRM; repeat for more. None = all.",
    )
    @click.option("--expires", help="When it stops working: 90d (days from now) or 2027-03-31. None = never.")
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print {"name", "role", "scope", "expires_at", "token"} as one JSON object instead of the bare token.',
    )
    def create(role: str, name: str, scope: tuple[str, ...], expires: str | None, as_json: bool) -> None:
        """Create a token; only the token (or, with --json, one object holding it) is printed on standard output."""
        try:
            # Checked before the database is opened: a mistyped option should not depend on the schema.
            wanted = tokens.parse_scope(scope)
            expires_at = tokens.parse_expiry(expires) if expires else None
        except tokens.TokenError as exc:
            fail(str(exc))
        rt = load_runtime()
        require_schema(rt)
        try:
            with rt.transaction() as session:
                secret = tokens.create(
                    session, name=name, role=role, actor=CLI_ACTOR, scope=wanted, expires_at=expires_at
                )
        except tokens.TokenError as exc:
            fail(str(exc))
        until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        click.echo(
            f"token {name!r} ({role}, {wanted.describe()}{until}) created; it is shown once, store it now:", err=True
        )
        if as_json:
            created = {
                "name": name,
                "role": role,
                "scope": list(wanted.projects),  # [] = every project
                "expires_at": expires_at.isoformat() if expires_at else None,
                "token": secret,
            }
            click.echo(json.dumps(created))
        else:
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
        """List tokens: name, role, state, scope, expiry and last use (secrets are never stored)."""
        rt = load_runtime()
        require_schema(rt)
        now = datetime.now(UTC)
        with rt.transaction() as session:
            for token in tokens.list_tokens(session):
                if token.revoked_at:
                    state = f"revoked {token.revoked_at:%Y-%m-%d}"
                elif token.expires_at and token.expires_at <= now:
                    state = "expired"
                else:
                    state = "active"
                scope = ",".join(token.scope or []) or "all projects"
                expires = f"expires {token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "no expiry"
                used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
                click.echo(f"{token.name}\t{token.role}\t{state}\t{scope}\t{expires}\t{used}")
