"""Shared start-up for commands: settings from the environment, one-line errors, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask
from sqlalchemy.engine import make_url

from service.app import create_app
from service.config import ConfigError, Settings, redact_url
from service.runtime import Runtime, runtime
from service.storage import private_files
from service.storage.engine import normalise_url


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"pvm: {message}", err=True)
    sys.exit(code)


def load_app(check_database: bool = True, create: bool = False) -> Flask:
    """The app of this environment's settings. Only `create` (`pvm serve`, `pvm db upgrade`) may make a new SQLite
    database: any other command run where there is none says which one it looked for, and creates nothing."""
    try:
        settings = Settings.from_env()
        missing = None if create else _missing_sqlite_file(settings)
        if missing is not None and check_database:
            fail(
                f"no database at {missing}. `pvm serve` prints the one it uses: point PVM_INSTANCE_DIR at that "
                "folder (or DATABASE_URL at that database) and run this again; to start a new, empty one there "
                "instead, run `pvm db upgrade`.",
                2,
            )
        if missing is not None:  # a command that needs no database (`log key`, `log verify --file`) opens none
            settings = settings.with_overrides(database_url="sqlite://")
        app = create_app(settings)
        if check_database:
            runtime(app).check_database()
    except ConfigError as exc:
        fail(str(exc), 2)
    return app


def load_runtime(check_database: bool = True, create: bool = False) -> Runtime:
    return runtime(load_app(check_database, create))


def require_schema(rt: Runtime) -> None:
    if not rt.schema_at_head():
        fail(
            f"the database schema of {_shown(rt.settings)} is not at head; run `pvm db upgrade` first "
            "(or point PVM_INSTANCE_DIR or DATABASE_URL at the database `pvm serve` prints)",
            2,
        )


def _missing_sqlite_file(settings: Settings) -> Path | None:
    if not settings.is_sqlite:
        return None
    try:
        path = private_files.sqlite_path(make_url(normalise_url(settings.database_url)).database)
    except Exception:  # a malformed URL is reported, with its reason, when the engine is made
        return None
    return path if path is not None and not path.exists() else None


def _shown(settings: Settings) -> str:
    if settings.is_sqlite:
        path = private_files.sqlite_path(make_url(settings.database_url).database)
        return str(path) if path is not None else "the in-memory database"
    return redact_url(settings.database_url)
