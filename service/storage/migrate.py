"""Schema migrations: upgrade to head (idempotent) and tell whether a database is at head."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def alembic_config() -> Config:
    # Built in code rather than from alembic.ini so `pvm` works from any working directory.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head and put back any append-only trigger of the value log that was dropped or
    disabled since (a migration that ran once would not); returns (before, after). Running it twice changes
    nothing."""
    from service.valuelog import append_only  # the guards belong to the log; they are restored with the schema

    before = current_revision(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        restored = append_only.restore(conn)
    if restored:
        log.warning(
            "restored the value log's append-only triggers (%s); run `pvm log verify --checkpoint` against a "
            "checkpoint kept outside the database to see whether entries were changed while they were gone",
            ", ".join(map(str, restored)),
        )
    return before, head_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
