"""The instance folder and the SQLite database (with -wal and -shm) are readable by this user only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from service.app import create_app
from service.runtime import runtime
from service.storage import private_files
from tests.conftest import build_app, make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest common umask, so that a private mode is the service's doing, not the environment's."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_instance_folder_and_database_are_private(tmp_path: Path, open_umask: None) -> None:
    instance = tmp_path / "new" / "instance"
    app = build_app(make_settings(instance, secret_key=None))
    try:
        with runtime(app).engine.connect() as conn:  # WAL mode: the first connection makes -wal and -shm
            conn.execute(text("SELECT count(*) FROM value_log"))
            database = instance / "pvm.sqlite3"
            assert mode(instance) == 0o700
            for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                assert path.exists(), path
                assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
            assert mode(instance / "secret_key") == 0o600
    finally:
        runtime(app).engine.dispose()


def test_a_world_readable_database_of_an_earlier_version_is_narrowed(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "pvm.sqlite3"
    first = build_app(make_settings(tmp_path))
    with runtime(first).engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.chmod(0o644)  # as a version before this one left them
    runtime(first).engine.dispose()

    again = create_app(make_settings(tmp_path))
    try:
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
        assert mode(database) == 0o600
    finally:
        runtime(again).engine.dispose()


def test_an_existing_instance_folder_keeps_the_mode_its_operator_gave_it(tmp_path: Path, open_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    shared.chmod(0o750)
    app = create_app(make_settings(shared))
    try:
        assert mode(shared) == 0o750
    finally:
        runtime(app).engine.dispose()


def test_a_database_url_elsewhere_is_private_too(tmp_path: Path, open_umask: None) -> None:
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    app = build_app(make_settings(tmp_path / "instance", database_url=f"sqlite:///{elsewhere / 'pvm.db'}"))
    try:
        assert mode(elsewhere / "pvm.db") == 0o600
    finally:
        runtime(app).engine.dispose()


def test_in_memory_and_uri_databases_name_no_file() -> None:
    assert private_files.sqlite_path(":memory:") is None
    assert private_files.sqlite_path("") is None
    assert private_files.sqlite_path("file:pvm?mode=memory") is None
    assert private_files.sqlite_path("/srv/pvm/pvm.sqlite3") == Path("/srv/pvm/pvm.sqlite3")
