"""Attacks on the value log by someone who can write to the database, on both engines: each is caught by `pvm log
verify` against a signed checkpoint kept outside the database, and the first line names the seq."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from service import valuelog
from service.runtime import runtime
from service.storage import migrate
from service.valuelog.chain import canonical_bytes, entry_hash
from tests.helpers import as_attacker, run_cli

ENTRIES = 10


def _append(app, count: int, start: int = 1) -> None:
    with runtime(app).transaction() as session:
        for n in range(start, start + count):
            valuelog.append(
                session,
                kind="checkin.answered",
                subject=f"checkin-round:{n % 3 + 1}",
                data={"score": n % 5 - 2, "group": "citizen", "n": n},
                actor=f"stakeholder:{n}",
                source="link",
            )


def _cli(app, tmp_path: Path, *args: str):
    return run_cli(list(args), runtime(app).settings.database_url, tmp_path)


def _checkpoint(app, tmp_path: Path, name: str) -> Path:
    """Sign the head and keep the note outside the database, as an auditor would."""
    made = _cli(app, tmp_path, "log", "checkpoint")
    assert made.exit_code == 0, made.output
    path = tmp_path / "held-elsewhere" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(made.stdout, encoding="utf-8")
    return path


def _verify(app, tmp_path: Path, *points: Path):
    args = ["log", "verify"]
    for point in points:
        args += ["--checkpoint", str(point)]
    return _cli(app, tmp_path, *args)


def _row(engine, seq: int) -> dict[str, object]:
    columns = "at, actor, source, kind, subject, data, prev_hash, hash, canonical"
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT {columns} FROM value_log WHERE seq = :s"), {"s": seq}).mappings().one()
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}


def _edit(engine) -> None:
    canonical = bytes(_row(engine, 4)["canonical"])  # type: ignore[arg-type]
    forged = canonical.replace(b'"score":2', b'"score":-2')
    assert forged != canonical
    as_attacker(engine, "UPDATE value_log SET canonical = :c WHERE seq = 4", c=forged)


def _delete(engine) -> None:
    as_attacker(engine, "DELETE FROM value_log WHERE seq = 4")


def _swap(engine) -> None:
    four, five = _row(engine, 4), _row(engine, 5)
    assign = ", ".join(f"{c} = :{c}" for c in four)
    as_attacker(engine, "UPDATE value_log SET hash = 'parked' WHERE seq = 4")
    as_attacker(engine, f"UPDATE value_log SET {assign} WHERE seq = 5", **four)
    as_attacker(engine, f"UPDATE value_log SET {assign} WHERE seq = 4", **five)


def _truncate_tail(engine) -> None:
    as_attacker(engine, "DELETE FROM value_log WHERE seq >= 8")


def _forge(seq: int, prev_hash: str) -> dict[str, object]:
    fields = {
        "seq": seq,
        "at": "2026-12-01T09:00:00.000000Z",
        "actor": f"stakeholder:{seq}",
        "source": "link",
        "kind": "checkin.answered",
        "subject": "checkin-round:1",
        "data": {"score": 2, "group": "citizen", "n": seq},
        "prev_hash": prev_hash,
    }
    canonical = canonical_bytes(fields)
    return {**fields, "data": json.dumps(fields["data"]), "hash": entry_hash(canonical), "canonical": canonical}


INSERT = (
    "INSERT INTO value_log (seq, at, actor, source, kind, subject, data, prev_hash, hash, canonical) "
    "VALUES (:seq, :at, :actor, :source, :kind, :subject, :data, :prev_hash, :hash, :canonical)"
)


def _rewrite_from_the_middle(engine) -> None:
    """Every score from seq 6 on turned to +2, the chain recomputed so the hash walk alone finds nothing."""
    prev = str(_row(engine, 5)["hash"])
    as_attacker(engine, "DELETE FROM value_log WHERE seq >= 6")
    for seq in range(6, ENTRIES + 1):
        forged = _forge(seq, prev)
        as_attacker(engine, INSERT, **forged)
        prev = str(forged["hash"])


ATTACKS = [
    pytest.param(_edit, "BAD seq 4: hash mismatch", id="edit"),
    pytest.param(_delete, "BAD seq 4: gap", id="delete"),
    pytest.param(_swap, "BAD seq 4: ", id="swap"),
    pytest.param(_truncate_tail, "BAD seq 8: missing: the signed checkpoint of size 10", id="truncate-tail"),
    pytest.param(_rewrite_from_the_middle, "BAD seq 6: rewritten", id="rewrite-from-the-middle"),
]


@pytest.mark.parametrize(("attack", "first_line"), ATTACKS)
def test_each_attack_is_caught_against_a_signed_checkpoint(any_app, tmp_path, attack, first_line: str) -> None:
    _append(any_app, ENTRIES)
    held = _checkpoint(any_app, tmp_path, "day-1.note")
    assert _verify(any_app, tmp_path, held).exit_code == 0
    attack(runtime(any_app).engine)
    result = _verify(any_app, tmp_path, held)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0].startswith(first_line), result.stdout


def test_a_rewrite_passes_the_hash_walk_but_not_the_checkpoint(any_app, tmp_path) -> None:
    """Why checkpoints are needed: without one, the consistently rewritten chain verifies."""
    _append(any_app, ENTRIES)
    held = _checkpoint(any_app, tmp_path, "day-1.note")
    _rewrite_from_the_middle(runtime(any_app).engine)
    bare = run_cli(["log", "export"], runtime(any_app).settings.database_url, tmp_path)
    export = tmp_path / "export.jsonl"
    export.write_text(bare.stdout, encoding="utf-8")
    alone = _cli(any_app, tmp_path, "log", "verify", "--file", str(export))
    assert alone.exit_code == 0 and alone.stdout.startswith(f"OK {ENTRIES} entries")
    against = _cli(any_app, tmp_path, "log", "verify", "--file", str(export), "--checkpoint", str(held))
    assert against.exit_code == 1
    assert against.stdout.startswith("BAD checkpoint size 10: the entries up to seq 10 do not match its signed root")


def test_dropped_trigger_is_reported_by_verify_and_health_and_restored_by_upgrade(any_app, tmp_path) -> None:
    _append(any_app, 3)
    held = _checkpoint(any_app, tmp_path, "day-1.note")
    engine = runtime(any_app).engine
    dropped = (
        "DROP TRIGGER value_log_no_update_delete ON value_log"
        if engine.dialect.name == "postgresql"
        else "DROP TRIGGER value_log_no_update"
    )
    with engine.begin() as conn:
        conn.execute(text(dropped))
    name = dropped.split()[2]

    result = _verify(any_app, tmp_path, held)
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"BAD append-only triggers: the value log's append-only triggers are not in force ({name} missing)"
    )
    health = any_app.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.json["triggers"] == [f"{name} missing"] and "pvm db upgrade" in health.json["error"]

    upgraded = _cli(any_app, tmp_path, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert _verify(any_app, tmp_path, held).exit_code == 0
    assert any_app.test_client().get("/healthz").json["status"] == "ok"
    # Restored means refusing again, not merely present.
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE value_log SET kind = 'x' WHERE seq = 1"))


def test_disabled_trigger_is_reported_and_reenabled(postgres_url, tmp_path) -> None:
    from tests.conftest import build_app, make_settings

    app = build_app(make_settings(tmp_path, postgres_url))
    engine = runtime(app).engine
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE value_log_tree DISABLE TRIGGER value_log_tree_no_update_delete"))
    assert app.test_client().get("/healthz").json["triggers"] == ["value_log_tree_no_update_delete disabled"]
    migrate.upgrade(engine)
    assert app.test_client().get("/healthz").status_code == 200
    engine.dispose()


def test_entries_after_the_newest_checkpoint_are_reported_as_not_yet_covered(any_app, tmp_path) -> None:
    _append(any_app, ENTRIES)
    held = _checkpoint(any_app, tmp_path, "day-1.note")
    _append(any_app, 3, start=ENTRIES + 1)
    # Appending needs no dropped trigger: a forgery at the tail looks like any new entry until a checkpoint.
    with runtime(any_app).engine.begin() as conn:
        head = conn.execute(text("SELECT hash FROM value_log WHERE seq = 13")).scalar()
        conn.execute(text(INSERT), _forge(14, head))
    result = _verify(any_app, tmp_path, held)
    assert result.exit_code == 0, result.output
    assert "not yet covered: 4 entries (seq 11-14) after the newest signed checkpoint (size 10)" in result.stdout, (
        result.stdout
    )
    # Without --checkpoint the newest one the service signed is used.
    stored = _cli(any_app, tmp_path, "log", "verify")
    assert "not yet covered: 4 entries (seq 11-14)" in stored.stdout


def test_two_checkpoints_are_consistent_only_while_the_log_only_grows(any_app, tmp_path) -> None:
    _append(any_app, 7)
    old = _checkpoint(any_app, tmp_path, "day-1.note")
    _append(any_app, 6, start=8)
    new = _checkpoint(any_app, tmp_path, "day-2.note")
    result = _verify(any_app, tmp_path, old, new)
    assert result.exit_code == 0, result.output
    assert "consistent 7 -> 13: the log only grew (RFC 9162 proof checked)" in result.stdout

    # A checkpoint of another history (same size, different root) is not consistent with the new one.
    other = old.read_text().splitlines()
    other[2] = "A" * 43 + "="
    forged = tmp_path / "forged.note"
    forged.write_text("\n".join(other) + "\n")
    refused = _verify(any_app, tmp_path, forged, new)
    assert refused.exit_code == 2
    assert "does not verify" in refused.output  # the signature no longer covers the changed root


def test_checkpoint_refuses_to_sign_a_log_that_no_longer_extends_the_last_one(any_app, tmp_path) -> None:
    _append(any_app, ENTRIES)
    _checkpoint(any_app, tmp_path, "day-1.note")
    _append(any_app, 2, start=ENTRIES + 1)
    as_attacker(runtime(any_app).engine, "DELETE FROM value_log WHERE seq = 10")
    refused = _cli(any_app, tmp_path, "log", "checkpoint")
    assert refused.exit_code == 1
    assert "seq 10 differs from the entry the last signed checkpoint committed to; refusing to sign" in refused.output
