"""The triggers that make the value log (and its Merkle tree and checkpoints) append-only: which are missing, and
putting them back.

A database user can drop or disable a trigger and then rewrite history; nothing in SQL stops that. So every start
of a role, `/healthz` and `pvm log verify` ask whether the triggers are still there and working, and `pvm db
upgrade` (which the release role runs on each deploy) restores any that are not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger(__name__)

# The log itself (migration 0002), and the tree and checkpoints that commit to it (migration 0012).
GUARDED = ("value_log", "value_log_tree", "value_log_checkpoints")
PG_FUNCTION = "value_log_refuse_change"
MESSAGE = "is append-only: entries cannot be changed or deleted"

# PostgreSQL: one function for all three tables; the message names the table (for the log it reads exactly as
# migration 0002's did).
PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% {MESSAGE}', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


@dataclass(frozen=True)
class Trigger:
    table: str
    name: str
    create: str


def expected(dialect: str, table: str) -> list[Trigger]:
    """The triggers `table` must have on this engine, with the statement that creates each."""
    if dialect == "sqlite":
        return [
            Trigger(
                table,
                f"{table}_no_{verb.lower()}",
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} {MESSAGE}'); END",
            )
            for verb in ("UPDATE", "DELETE")
        ]
    return [
        Trigger(
            table,
            f"{table}_no_update_delete",
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        ),
        Trigger(
            table,
            f"{table}_no_truncate",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
        ),
    ]


@dataclass(frozen=True)
class Problem:
    trigger: str
    what: str  # "missing", "disabled", "does not refuse"

    def __str__(self) -> str:
        return f"{self.trigger} {self.what}"


def problems(conn: Connection) -> list[Problem]:
    """Each guard trigger that is missing, disabled or no longer refuses, on the tables that exist."""
    dialect = conn.dialect.name
    tables = set(inspect(conn).get_table_names())
    found: list[Problem] = []
    if dialect == "postgresql":
        source = conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": PG_FUNCTION}).scalar()
        function_ok = source is not None and "RAISE EXCEPTION" in source.upper()
        rows = conn.execute(
            text(
                "SELECT t.tgname, t.tgenabled, p.proname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND c.relname = ANY(:tables)"
            ),
            {"tables": list(GUARDED)},
        ).all()
        present = {row.tgname: (row.tgenabled, row.proname) for row in rows}
        for table in GUARDED:
            if table not in tables:
                continue
            for trigger in expected(dialect, table):
                state = present.get(trigger.name)
                if state is None:
                    found.append(Problem(trigger.name, "missing"))
                elif state[0] == "D":
                    found.append(Problem(trigger.name, "disabled"))
                elif state[1] != PG_FUNCTION or not function_ok:
                    found.append(Problem(trigger.name, "does not refuse changes"))
        return found
    sql: dict[str, str] = {
        name: body for name, body in conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    }
    for table in GUARDED:
        if table not in tables:
            continue
        for trigger in expected(dialect, table):
            body = sql.get(trigger.name)
            if body is None:
                found.append(Problem(trigger.name, "missing"))
            elif "RAISE(ABORT" not in body.upper().replace(" ", ""):
                found.append(Problem(trigger.name, "does not refuse changes"))
    return found


def restore(conn: Connection) -> list[Problem]:
    """Put back every guard trigger that `problems` reports; returns what was wrong (empty: nothing to do)."""
    wrong = problems(conn)
    if not wrong:
        return []
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text(PG_FUNCTION_SQL))
    broken = {problem.trigger for problem in wrong}
    for table in GUARDED:
        for trigger in expected(dialect, table):
            if trigger.name not in broken:
                continue
            drop = f"DROP TRIGGER IF EXISTS {trigger.name}" + (f" ON {table}" if dialect == "postgresql" else "")
            conn.execute(text(drop))
            conn.execute(text(trigger.create))
    return wrong


def check(engine: Engine) -> list[Problem]:
    with engine.connect() as conn:
        return problems(conn)


def describe(found: list[Problem]) -> str:
    return (
        f"the value log's append-only triggers are not in force ({', '.join(map(str, found))}): entries can be "
        "changed or deleted unnoticed by the database; run `pvm db upgrade` to restore them, and `pvm log verify "
        "--checkpoint` against a checkpoint kept outside the database to see whether anything was changed meanwhile"
    )


def warn_at_start(engine: Engine, role: str) -> list[Problem]:
    """Log loudly (not fatal: the service still records, and the log still verifies) when the guards are gone."""
    try:
        found = check(engine)
    except Exception:  # the database is checked elsewhere at start; this warning must never stop a role
        log.exception("%s: could not check the value log's append-only triggers", role)
        return []
    if found:
        log.error("!!! %s: %s !!!", role.upper(), describe(found))
    return found
