"""Shared start-up for commands: settings from the environment, one-line errors, exit codes."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import Flask

from service.app import create_app
from service.config import ConfigError, Settings
from service.runtime import Runtime, runtime


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"pvm: {message}", err=True)
    sys.exit(code)


def load_app(check_database: bool = True) -> Flask:
    try:
        app = create_app(Settings.from_env())
        if check_database:
            runtime(app).check_database()
    except ConfigError as exc:
        fail(str(exc), 2)
    return app


def load_runtime(check_database: bool = True) -> Runtime:
    return runtime(load_app(check_database))


def require_schema(rt: Runtime) -> None:
    if not rt.schema_at_head():
        fail("the database schema is not at head; run `pvm db upgrade` first", 2)
