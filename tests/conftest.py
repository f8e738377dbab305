"""Shared fixtures: an app on SQLite or on a throw-away PostgreSQL database, tokens, paths."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from service import tokens
from service.app import create_app
from service.config import Settings
from service.runtime import Runtime, runtime
from service.storage import migrate

# Property-based tests: bounded by default (the whole suite stays within minutes); the same examples on every CI run,
# so a red build is reproducible; `HYPOTHESIS_PROFILE=thorough` explores far more, to hunt for new failures.
_PROPERTIES = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("default", max_examples=60, **_PROPERTIES)
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_PROPERTIES)
settings.register_profile("thorough", max_examples=1500, **_PROPERTIES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))

# The default PVM_INSTANCE_DIR is a per-user data folder: no test, nor any `pvm` process a test starts, may write to
# the real one, so the whole run gets a throw-away data home (service/config.py: default_instance_dir).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="pvm-test-data-home-")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_ADMIN_URL = os.environ.get("PVM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GITHUB_SECRET = "gh-test-secret"
JIRA_SECRET = "jira-test-secret"
GITLAB_SECRET = "gitlab-test-secret"


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({str(exc.orig).strip().splitlines()[0]})"
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("PVM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and PVM_REQUIRE_POSTGRES=1 says these tests must run")
        pytest.skip(f"{reason}; set PVM_TEST_POSTGRES_URL or start PostgreSQL to run these tests")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"pvm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = postgres_admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_settings(instance_dir: Path, database_url: str = "", **overrides: object) -> Settings:
    settings = Settings(
        instance_dir=instance_dir,
        database_url=database_url,
        env="test",
        secret_key="test-secret-key",
        github_webhook_secret=GITHUB_SECRET,
        jira_webhook_secret=JIRA_SECRET,
        gitlab_webhook_secret=GITLAB_SECRET,
        base_url="http://pvm.test",
    )
    return settings.with_overrides(**overrides) if overrides else settings


def build_app(settings: Settings) -> Flask:
    app = create_app(settings)
    migrate.upgrade(runtime(app).engine)
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once on the embedded SQLite and once on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app on SQLite at head (the fast default for tests that are not about the engine)."""
    application = build_app(make_settings(tmp_path))
    yield application
    runtime(application).engine.dispose()


@pytest.fixture
def any_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app at head on each engine in turn."""
    application = build_app(make_settings(tmp_path, database_url))
    yield application
    runtime(application).engine.dispose()


@pytest.fixture
def rt(app: Flask) -> Runtime:
    return runtime(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_for(app: Flask, role: str, name: str | None = None) -> str:
    with runtime(app).transaction() as session:
        return tokens.create(session, name=name or f"{role}-{uuid.uuid4().hex[:6]}", role=role, actor="test")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(app: Flask) -> dict[str, str]:
    return auth(token_for(app, "admin"))
