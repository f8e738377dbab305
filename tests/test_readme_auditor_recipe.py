"""The README's auditor recipe checks proofs the service made, and refuses altered ones: the recipe cannot drift
from what the service hands out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature

from service import valuelog
from service.runtime import runtime
from service.valuelog import checkpoint
from tests.helpers import run_cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def recipe() -> dict[str, Any]:
    block = re.search(r"<!-- auditor-recipe -->\n```python\n(.*?)\n```", README, flags=re.S)
    assert block, "the README lost its marked auditor recipe"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md:auditor-recipe", "exec"), namespace)
    return namespace


def _append(app, first: int, last: int) -> None:
    with runtime(app).transaction() as session:
        for n in range(first, last + 1):
            valuelog.append(
                session, kind="checkin.answered", subject="checkin-round:1", data={"n": n}, actor="t", source="link"
            )


def _sign(app) -> None:
    with runtime(app).transaction() as session:
        checkpoint.issue(session, runtime(app).settings)


@pytest.fixture
def signed_twice(app):
    """A log of 37 entries with checkpoints at 13 (not a power of two), 16 (one) and 37."""
    _append(app, 1, 13)
    _sign(app)
    _append(app, 14, 16)
    _sign(app)
    _append(app, 17, 37)
    _sign(app)
    return app


def _flip(hex_text: str, bit: int = 0) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[bit // 8] ^= 1 << (bit % 8)
    return raw.hex()


def test_inclusion_proofs_from_the_receipt_route_verify(signed_twice) -> None:
    check = recipe()["verify_inclusion"]
    client = signed_twice.test_client()
    vkey = client.get("/.well-known/pvm-log-key").text
    for seq in (1, 13, 16, 17, 36, 37):
        proof = client.get(f"/log/proof/{seq}").json
        check(proof, vkey)
        for size in (13, 16):
            if seq <= size:
                check(client.get(f"/log/proof/{seq}?size={size}").json, vkey)


def test_consistency_proofs_verify_from_any_older_checkpoint(signed_twice) -> None:
    check = recipe()["verify_consistency"]
    client = signed_twice.test_client()
    vkey = client.get("/.well-known/pvm-log-key").text
    for old, new in ((13, 37), (16, 37), (13, 16), (37, 37)):
        check(client.get(f"/log/consistency?old={old}&new={new}").json, vkey)


def test_proofs_printed_by_the_cli_verify(signed_twice, tmp_path) -> None:
    found = recipe()
    url = runtime(signed_twice).settings.database_url
    env = {"PVM_BASE_URL": runtime(signed_twice).settings.base_url}
    vkey = run_cli(["log", "key"], url, tmp_path, **env).stdout
    proof = run_cli(["log", "prove", "20"], url, tmp_path, **env)
    assert proof.exit_code == 0, proof.output
    found["verify_inclusion"](json.loads(proof.stdout), vkey)
    grown = run_cli(["log", "consistency", "13"], url, tmp_path, **env)
    assert grown.exit_code == 0, grown.output
    found["verify_consistency"](json.loads(grown.stdout), vkey)


def test_the_recipe_refuses_altered_proofs(signed_twice) -> None:
    found = recipe()
    client = signed_twice.test_client()
    vkey = client.get("/.well-known/pvm-log-key").text
    proof = client.get("/log/proof/21").json
    for bit in (0, 77, 255):
        with pytest.raises(AssertionError):
            found["verify_inclusion"]({**proof, "hash": _flip(proof["hash"], bit)}, vkey)
        for at in range(len(proof["path"])):
            path = [*proof["path"]]
            path[at] = _flip(path[at], bit)
            with pytest.raises(AssertionError):
                found["verify_inclusion"]({**proof, "path": path}, vkey)
    with pytest.raises(AssertionError):
        found["verify_inclusion"]({**proof, "seq": 22}, vkey)
    forged_root = proof["checkpoint"].split("\n")
    forged_root[2] = "A" + forged_root[2][1:]
    with pytest.raises(InvalidSignature):
        found["verify_inclusion"]({**proof, "checkpoint": "\n".join(forged_root)}, vkey)

    grown = client.get("/log/consistency?old=13&new=37").json
    for at in range(len(grown["path"])):
        path = [*grown["path"]]
        path[at] = _flip(path[at], 9)
        with pytest.raises(AssertionError):
            found["verify_consistency"]({**grown, "path": path}, vkey)
    with pytest.raises(AssertionError):
        found["verify_consistency"]({**grown, "path": grown["path"][:-1]}, vkey)
