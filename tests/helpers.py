"""One-line helpers for tests: run the CLI, tamper with the log as an attacker with database access would."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from service.cli import cli


def run_cli(args: list[str], database_url: str, instance_dir: Path, **env: str) -> Result:
    environment = {"DATABASE_URL": database_url, "PVM_INSTANCE_DIR": str(instance_dir), "PVM_ENV": "test", **env}
    return CliRunner().invoke(cli, args, env=environment, catch_exceptions=False)


def as_attacker(engine: Engine, *statements: str, **params: object) -> None:
    """Run raw SQL on the value log with its append-only triggers switched off, then switch them back on."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE value_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER value_log_no_update"))
            conn.execute(text("DROP TRIGGER value_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE value_log ENABLE TRIGGER USER"))
        else:
            for verb in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER value_log_no_{verb.lower()} BEFORE {verb} ON value_log "
                        "BEGIN SELECT RAISE(ABORT, 'value_log is append-only'); END"
                    )
                )
