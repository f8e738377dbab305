import csv
import io
import json

from service import valuelog
from service.runtime import runtime
from service.valuelog.export import FIELD_ORDER
from tests.helpers import run_cli


def _fill(app, n: int = 7) -> None:
    with runtime(app).transaction() as session:
        for i in range(n):
            valuelog.append(
                session,
                kind="hypothesis.created",
                subject=f"jira:PROJ-{i}",
                data={"statement": "We believe … will result in “fewer appeals”", "score": i / 3},
                actor="jira:alice",
                source="jira",
            )


def test_jsonl_export_reverifies_from_the_file(any_app, tmp_path) -> None:
    _fill(any_app)
    url = runtime(any_app).settings.database_url
    exported = run_cli(["log", "export", "--format", "jsonl"], url, tmp_path)
    assert exported.exit_code == 0
    lines = exported.stdout.splitlines()
    assert [list(json.loads(line)) for line in lines] == [list(FIELD_ORDER)] * 7
    export_file = tmp_path / "export.jsonl"
    export_file.write_text(exported.stdout, encoding="utf-8")
    database = run_cli(["log", "verify"], url, tmp_path)
    from_file = run_cli(["log", "verify", "--file", str(export_file)], url, tmp_path)
    assert from_file.exit_code == 0
    assert from_file.stdout.splitlines()[0] == database.stdout.splitlines()[0]  # same count, same head

    tampered = lines[:]
    entry = json.loads(tampered[4])
    entry["data"]["score"] = 99
    tampered[4] = json.dumps(entry)
    export_file.write_text("\n".join(tampered) + "\n", encoding="utf-8")
    bad = run_cli(["log", "verify", "--file", str(export_file)], url, tmp_path)
    assert bad.exit_code == 1
    assert bad.stdout.startswith("BAD seq 5: hash mismatch")


def test_export_after_and_csv(app, tmp_path) -> None:
    _fill(app)
    url = runtime(app).settings.database_url
    after = run_cli(["log", "export", "--after", "5"], url, tmp_path)
    assert [json.loads(line)["seq"] for line in after.stdout.splitlines()] == [6, 7]
    as_csv = run_cli(["log", "export", "--format", "csv"], url, tmp_path)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [int(r["seq"]) for r in rows] == list(range(1, 8))
    assert json.loads(rows[0]["data"])["statement"].endswith("“fewer appeals”")


def test_checkpoint_catches_a_rewritten_chain(app, tmp_path) -> None:
    _fill(app, 3)
    url = runtime(app).settings.database_url
    point = run_cli(["log", "checkpoint"], url, tmp_path)
    checkpoint_file = tmp_path / "checkpoint.json"
    checkpoint_file.write_text(point.stdout)
    assert run_cli(["log", "verify", "--checkpoint", str(checkpoint_file)], url, tmp_path).exit_code == 0
    # An attacker who rewrites the whole chain consistently passes the hash walk, but not the checkpoint.
    checkpoint_file.write_text(json.dumps({"seq": 3, "hash": "a" * 64}))
    result = run_cli(["log", "verify", "--checkpoint", str(checkpoint_file)], url, tmp_path)
    assert result.exit_code == 1
    assert result.stdout.startswith("BAD checkpoint: seq 3")
