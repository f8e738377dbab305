from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.schema import CreateIndex

from service.storage import migrate
from service.storage.engine import make_engine
from service.storage.models import Base
from tests.conftest import make_settings


def test_empty_to_head_and_idempotent(tmp_path: Path, database_url: str) -> None:
    engine = make_engine(make_settings(tmp_path, database_url))
    assert migrate.current_revision(engine) is None
    before, after = migrate.upgrade(engine)
    assert before is None and after == migrate.head_revision()
    assert migrate.is_at_head(engine)
    assert migrate.upgrade(engine) == (after, after)  # a second run changes nothing
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_models_and_migrations_agree(tmp_path: Path, database_url: str) -> None:
    """A model change without a migration is caught here, on both engines."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(make_settings(tmp_path, database_url))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    engine.dispose()


@pytest.mark.postgres
def test_delivery_bodies_are_compressed_with_lz4_on_postgresql_and_back_on_downgrade(
    tmp_path: Path, postgres_url: str
) -> None:
    engine = make_engine(make_settings(tmp_path, postgres_url))
    column_method = text(
        "SELECT attcompression FROM pg_attribute WHERE attrelid = 'deliveries'::regclass AND attname = 'body'"
    )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(column_method).scalar() == "l"  # lz4 (Debian's PostgreSQL is built with it)
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    with engine.connect() as conn:
        assert conn.execute(column_method).scalar() == ""  # the server's default again
    engine.dispose()


def test_the_partial_index_of_unfinished_deliveries_is_the_models(tmp_path: Path, database_url: str) -> None:
    """Alembic does not compare an index's WHERE: build the model's index beside the migrated one and compare."""
    engine = make_engine(make_settings(tmp_path, database_url))
    migrate.upgrade(engine)
    name = "ix_deliveries_unfinished_partition_key"
    (index,) = (i for i in Base.metadata.tables["deliveries"].indexes if i.name == name)
    if engine.dialect.name == "postgresql":
        definition = text("SELECT pg_get_indexdef(CAST(:name AS regclass))")
    else:
        definition = text("SELECT sql FROM sqlite_master WHERE name = :name")
    with engine.begin() as conn:
        conn.execute(text(str(CreateIndex(index).compile(dialect=engine.dialect)).replace(name, "ix_twin")))
        migrated = conn.execute(definition, {"name": name}).scalar_one()
        modelled = conn.execute(definition, {"name": "ix_twin"}).scalar_one()
        conn.execute(text("DROP INDEX ix_twin"))
    assert "WHERE" in migrated and migrated.replace(name, "ix_twin") == modelled
    engine.dispose()
