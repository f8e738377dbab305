import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from service import valuelog
from service.runtime import runtime
from service.valuelog.chain import _PG_APPEND_LOCK as APPEND_LOCK
from service.valuelog.chain import GENESIS_HASH, canonical_bytes, entry_hash
from tests.conftest import build_app, make_settings
from tests.helpers import as_attacker, run_cli


def _append_five(app) -> None:
    with runtime(app).transaction() as session:
        for n in range(1, 6):
            valuelog.append(
                session,
                kind="label.added",
                subject=f"github:acme/portal#{n}",
                data={"label": "value:transparency", "n": n, "note": "äß 漢"},
                actor="github:octocat",
                source="github",
            )


def _verify(app, tmp_path):
    url = runtime(app).settings.database_url
    return run_cli(["log", "verify"], url, tmp_path)


def test_entries_chain_from_genesis(any_app) -> None:
    _append_five(any_app)
    with runtime(any_app).transaction() as session:
        rows = session.scalars(text("SELECT seq FROM value_log ORDER BY seq")).all()
        first = session.get(valuelog.chain.ValueLogEntry, 1)
        second = session.get(valuelog.chain.ValueLogEntry, 2)
    assert rows == [1, 2, 3, 4, 5]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    # The stored bytes are exactly the RFC 8785 form of the other fields, and the hash is over those bytes.
    fields = {k: getattr(first, k) for k in ("seq", "at", "actor", "source", "kind", "subject", "data", "prev_hash")}
    assert bytes(first.canonical) == canonical_bytes(fields)
    assert first.hash == entry_hash(bytes(first.canonical))
    assert first.at.endswith("Z") and len(first.at) == len("2026-11-28T14:00:00.000000Z")


def test_verify_ok(any_app, tmp_path) -> None:
    _append_five(any_app)
    result = _verify(any_app, tmp_path)
    assert result.exit_code == 0, result.output
    with runtime(any_app).transaction() as session:
        head = session.execute(text("SELECT hash FROM value_log WHERE seq = 5")).scalar()
    assert result.stdout.splitlines()[0] == f"OK 5 entries, head {head}"


def test_rolled_back_append_leaves_no_trace(any_app) -> None:
    with pytest.raises(RuntimeError), runtime(any_app).transaction() as session:
        valuelog.append(session, kind="ticket.created", subject="jira:PROJ-1", actor="a", source="jira")
        raise RuntimeError("state change failed")
    with runtime(any_app).transaction() as session:
        assert session.execute(text("SELECT count(*) FROM value_log")).scalar() == 0


@pytest.mark.parametrize(
    "statement", ["UPDATE value_log SET kind = 'x' WHERE seq = 2", "DELETE FROM value_log WHERE seq = 2"]
)
def test_triggers_refuse_update_and_delete(any_app, statement: str) -> None:
    _append_five(any_app)
    with pytest.raises(DatabaseError) as raised, runtime(any_app).engine.begin() as conn:
        conn.execute(text(statement))
    assert "append-only" in str(raised.value)


def _tamper_data_byte(engine) -> None:
    with engine.connect() as conn:
        canonical = bytes(conn.execute(text("SELECT canonical FROM value_log WHERE seq = 3")).scalar())
    forged = canonical.replace(b'"n":3', b'"n":4')
    assert forged != canonical
    as_attacker(engine, "UPDATE value_log SET canonical = :c WHERE seq = 3", c=forged)


def _tamper_data_column(engine) -> None:
    as_attacker(
        engine,
        "UPDATE value_log SET data = :d WHERE seq = 3",
        d=json.dumps({"label": "value:efficiency", "n": 3, "note": "äß 漢"}),
    )


def _delete_row(engine) -> None:
    as_attacker(engine, "DELETE FROM value_log WHERE seq = 3")


def _swap_rows(engine) -> None:
    columns = "at, actor, source, kind, subject, data, prev_hash, hash, canonical"
    with engine.connect() as conn:
        two, three = (
            {
                k: json.dumps(v) if isinstance(v, dict) else v
                for k, v in conn.execute(text(f"SELECT {columns} FROM value_log WHERE seq = {seq}"))
                .mappings()
                .one()
                .items()
            }
            for seq in (2, 3)
        )
    assign = ", ".join(f"{c} = :{c}" for c in columns.split(", "))
    # hash is unique: park seq 2's row on a placeholder first, as an attacker would.
    as_attacker(
        engine,
        "UPDATE value_log SET hash = 'x' WHERE seq = 2",
        f"UPDATE value_log SET {assign} WHERE seq = 3".replace(":", ":t_"),
        **{f"t_{k}": v for k, v in two.items()},
    )
    as_attacker(engine, f"UPDATE value_log SET {assign} WHERE seq = 2", **dict(three))


def _append_forged(engine) -> None:
    fields = {
        "seq": 6,
        "at": "2026-11-28T12:00:00.000000Z",
        "actor": "mallory",
        "source": "service",
        "kind": "hypothesis.updated",
        "subject": "github:acme/portal#1",
        "data": {"status": "supported"},
        "prev_hash": "f" * 64,
    }
    canonical = canonical_bytes(fields)
    as_attacker(
        engine,
        "INSERT INTO value_log (seq, at, actor, source, kind, subject, data, prev_hash, hash, "
        "canonical) VALUES (:seq, :at, :actor, :source, :kind, :subject, :data, :prev_hash, "
        ":hash, :canonical)",
        **{**fields, "data": json.dumps(fields["data"]), "hash": entry_hash(canonical), "canonical": canonical},
    )


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        (_tamper_data_byte, 3, "hash mismatch"),
        (_tamper_data_column, 3, "fields differ"),
        (_delete_row, 3, "gap"),
        (_swap_rows, 2, ""),
        (_append_forged, 6, "broken link"),
    ],
)
def test_tampering_is_detected_and_located(any_app, tmp_path, tamper, bad_seq: int, reason: str) -> None:
    _append_five(any_app)
    tamper(runtime(any_app).engine)
    result = _verify(any_app, tmp_path)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"BAD seq {bad_seq}: {reason}")


def _entry(session, kind: str) -> None:
    valuelog.append(session, kind=kind, subject="checkin-round:1", data={"k": kind}, actor="clock", source="clock")


def test_appends_after_a_rolled_back_savepoint_link_to_what_was_kept(any_app, tmp_path) -> None:
    # A transaction remembers the head it wrote; a savepoint rolled back (a failing rule) takes its entries with it,
    # and the next append must link to the entry before them, not to the discarded ones.
    with runtime(any_app).transaction() as session:
        _entry(session, "checkin.answered")
        with pytest.raises(RuntimeError), session.begin_nested():
            _entry(session, "rule.fired")
            _entry(session, "value.alert")
            raise RuntimeError("the rule's action failed")
        _entry(session, "rule.failed")
        with session.begin_nested():  # released: its entry stays
            _entry(session, "rule.fired")
        _entry(session, "checkin.closed")
    with runtime(any_app).transaction() as session:
        kinds = session.scalars(text("SELECT kind FROM value_log ORDER BY seq")).all()
    assert kinds == ["checkin.answered", "rule.failed", "rule.fired", "checkin.closed"]
    result = _verify(any_app, tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK 4 entries")


def test_a_second_transaction_reads_the_head_again(any_app) -> None:
    rt = runtime(any_app)
    with rt.transaction() as first, rt.transaction() as second:
        _entry(first, "checkin.prompted")
        first.commit()  # the same session object goes on in a new transaction
        _entry(second, "checkin.answered")  # SQLite: waits for nothing, the first has committed
        second.commit()
        _entry(first, "checkin.closed")  # must not reuse the head it knew before the other's append
    with rt.transaction() as session:
        result = valuelog.verify_database(session)
    assert result.ok, result.line()
    assert result.entries == 3


@pytest.mark.postgres
def test_the_append_lock_is_taken_again_after_a_savepoint_that_took_it_is_rolled_back(postgres_url, tmp_path) -> None:
    # PostgreSQL releases an advisory lock taken inside a savepoint when the savepoint rolls back; an append after
    # that must hold the lock again, or another appender could fork the chain.
    app = build_app(make_settings(tmp_path, postgres_url))
    rt = runtime(app)
    with rt.transaction() as session:
        with pytest.raises(RuntimeError), session.begin_nested():
            _entry(session, "rule.fired")
            raise RuntimeError("the rule's action failed")
        with rt.engine.connect() as other:
            assert other.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": APPEND_LOCK}) is True
            other.rollback()
        _entry(session, "rule.failed")
        with rt.engine.connect() as other:
            assert other.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": APPEND_LOCK}) is False
            other.rollback()
    rt.engine.dispose()
