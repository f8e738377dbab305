from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

from service import pipeline
from service.domain.events import Event
from service.domain.payloads import TicketReport
from service.hypotheses.blocks import sync_from_description
from service.hypotheses.commands import set_lifecycle
from service.reactions import evaluate
from service.runtime import Runtime, runtime
from service.storage import migrate
from service.storage.engine import make_engine
from service.storage.models import Base, BlockReport, Hypothesis, OnceKey, OutboxItem
from tests.conftest import build_app, make_settings
from tests.service import scenario as s


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


def _done(rt: Runtime) -> tuple[set[str], set[tuple[str, str, str]]]:
    with rt.transaction() as session:
        keys = set(session.scalars(select(OnceKey.key)))
        reports = {(r.epic_key, r.block_ref, r.block_sha256) for r in session.scalars(select(BlockReport))}
    return keys, reports


def test_upgrading_to_0010_backfills_what_was_done_so_nothing_is_done_twice(tmp_path: Path, database_url: str) -> None:
    """Before 0010 the service judged "already done?" from the value log; a database from then has only its log.

    The history is written by today's code, whose log entries are the ones the old code wrote (the log format did
    not change). Going down to the revision before 0010 drops the new state, leaving the database as the old code
    left it; the upgrade must rebuild exactly that state from the log, and then nothing done before is done again.
    """
    app = build_app(make_settings(tmp_path, database_url))
    rt = runtime(app)
    nudge = s.event("iteration.joined", "jira:PORT-21", iteration="jira:sprint/37")
    risk = s.event(
        "label.added", "jira:PORT-11", label="value-risk:privacy", dimension="privacy-security", polarity="value-risk"
    )
    ticket = Event("ticket.created", "github", "github:acme/portal#3", "github:ana", s.T0, TicketReport(title="P"))
    block = "```value-hypothesis\nstatement: S\ndimensions: [outcomes]\nstatus: active\nreason: pilot started\n{}```\n"
    broken = "```value-hypothesis\nid: broken\nstatement: S\ndimensions: [transparancy]\n```\n"
    description = block.format("") + broken

    def sync(session: Session, text: str) -> list[Event]:
        return sync_from_description(session, epic_key="jira:PORT-1", description=text, actor="jira:ana", source="jira")

    with rt.transaction() as session:
        s.epic(session, "jira:PORT-1")
        s.epic(session, "jira:PORT-2", "Online appeals")
        s.ticket(session, "jira:PORT-11", "jira:PORT-1")
        s.ticket(session, "jira:PORT-21", "jira:PORT-2")
        s.sprint(session, "jira:sprint/37", 1)
        s.join(session, "jira:PORT-21", "jira:sprint/37")
        fired = {f.rule_id: f.status for f in evaluate(session, [nudge, risk], settings=rt.settings)}
        assert fired["ex-ante-nudge"] == fired["value-risk-mitigation"] == "fired"
        assert [e.kind for e in pipeline.handle(session, ticket)] == ["ticket.created"]
        assert [e.kind for e in sync(session, description)] == ["hypothesis.created", "hypothesis.invalid"]
        [hypothesis] = session.scalars(select(Hypothesis))
        set_lifecycle(session, hypothesis, status="supported", reason="appeals down", actor="t", source="api")
    before = _done(rt)
    assert before[0] == {
        '["rule.fired","ex-ante-nudge","epic.key=jira:PORT-2 iteration.key=jira:sprint/37"]',
        '["rule.fired","value-risk-mitigation","event.subject=jira:PORT-11 event.data.label=value-risk:privacy"]',
        '["value.alert","ex-ante-nudge","jira:PORT-2"]',
        '["value.alert","ex-ante-nudge","jira:PORT-2","jira:sprint/37"]',
        '["ticket.created","github:acme/portal#3"]',
        f'["hypothesis.status",{hypothesis.id},"active","pilot started"]',
        f'["hypothesis.status",{hypothesis.id},"supported","appeals down"]',
    }
    assert [(epic, ref) for epic, ref, _ in before[1]] == [("jira:PORT-1", "id:broken")]

    config = migrate.alembic_config()
    # The revision 0010 follows, looked up rather than written down, so re-chaining 0010 needs no change here.
    before_0010 = ScriptDirectory.from_config(config).get_revision("0010").down_revision
    with rt.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, str(before_0010))
    assert not {"once_keys", "block_reports"} & set(inspect(rt.engine).get_table_names())
    migrate.upgrade(rt.engine)
    assert _done(rt) == before

    with rt.transaction() as session:
        outbox_rows = session.scalar(select(func.count()).select_from(OutboxItem))
        again = {f.rule_id: f.status for f in evaluate(session, [nudge, risk], settings=rt.settings)}
        assert again["ex-ante-nudge"] == again["value-risk-mitigation"] == "already-fired"
        # A rule that never fired, raising an alert that was raised: the alert is not repeated.
        found = evaluate(session, [s.event("iteration.started", "jira:sprint/37")], settings=rt.settings)
        [started] = [f for f in found if f.rule_id == "ex-ante-nudge-at-start"]
        assert started.status == "fired" and started.actions[0].args["already_raised"] == ["jira:PORT-2"]
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == outbox_rows
        assert pipeline.handle(session, ticket) == []  # known: not created a second time
        # The broken block is not reported again; the status set through the API is not set back by the block.
        [event] = sync(session, block.format("owner: Kassel team\n") + broken)
        assert event.data.plain()["changes"] == {"owner": {"old": None, "new": "Kassel team"}}
        assert session.scalar(select(Hypothesis.status)) == "supported"
    rt.engine.dispose()
