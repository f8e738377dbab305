from pathlib import Path

from sqlalchemy import inspect

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
