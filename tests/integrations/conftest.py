"""A fresh app per payload without migrating each time: the whole-flow tests send about 400 payloads one by one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask

from service.app import create_app
from service.runtime import runtime
from tests.conftest import build_app, make_settings


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at head, migrated once per test process (migrating takes ten times longer than a payload)."""
    folder = tmp_path_factory.mktemp("migrated")
    database = folder / "pvm.sqlite3"
    application = build_app(make_settings(folder, f"sqlite:///{database}"))
    runtime(application).engine.dispose()
    return database


@pytest.fixture
def fresh_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    """The same app as `app` (SQLite at head, test settings), on its own copy of the migrated database."""
    database = tmp_path / "pvm.sqlite3"
    # The backup API copies a consistent database whatever its journal (WAL) holds; a file copy might not.
    with closing(sqlite3.connect(migrated_sqlite)) as source, closing(sqlite3.connect(database)) as copy:
        source.backup(copy)
    application = create_app(make_settings(tmp_path, f"sqlite:///{database}"))
    yield application
    runtime(application).engine.dispose()
