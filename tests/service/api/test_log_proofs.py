"""/api/v1/log/<seq>/proof and /api/v1/log/consistency: any role reads them; sizes are checked with a message."""

from __future__ import annotations

import pytest

from service import valuelog
from service.runtime import runtime
from service.valuelog import checkpoint, merkle
from tests.conftest import auth, token_for


def _log(app, first: int, last: int) -> None:
    with runtime(app).transaction() as session:
        for n in range(first, last + 1):
            valuelog.append(session, kind="ticket.created", subject=f"jira:BEN-{n}", actor="jira:a", source="jira")
        checkpoint.issue(session, runtime(app).settings)


@pytest.fixture
def logged(app):
    _log(app, 1, 5)
    _log(app, 6, 11)
    return app


def test_auditors_get_proofs_that_verify(logged) -> None:
    client, headers = logged.test_client(), auth(token_for(logged, "auditor"))
    assert client.get("/api/v1/log/3/proof").status_code == 401
    proof = client.get("/api/v1/log/3/proof?size=5", headers=headers).json
    merkle.verify_inclusion(
        merkle.leaf_hash(bytes.fromhex(proof["hash"])),
        2,
        5,
        [bytes.fromhex(node) for node in proof["path"]],
        bytes.fromhex(proof["root"]),
    )
    grown = client.get("/api/v1/log/consistency?old=5", headers=headers).json
    assert (grown["old_size"], grown["new_size"]) == (5, 11)
    merkle.verify_consistency(
        5,
        11,
        bytes.fromhex(grown["old_root"]),
        bytes.fromhex(grown["new_root"]),
        [bytes.fromhex(n) for n in grown["path"]],
    )


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/api/v1/log/3/proof?size=abc", 400, "size must be a number of entries"),
        ("/api/v1/log/3/proof?size=0", 400, "size must be a number of entries"),
        ("/api/v1/log/9/proof?size=5", 409, "seq 9 is not yet covered"),
        ("/api/v1/log/999/proof", 404, "there is no entry with seq 999"),
        ("/api/v1/log/3/proof?size=40", 409, "the tree covers 11 entries, not 40"),
        ("/api/v1/log/consistency", 400, "give ?old=<size>"),
        ("/api/v1/log/consistency?old=9&new=5", 400, "from an older, smaller size to a newer one"),
    ],
)
def test_bad_requests_say_what_to_do(logged, url: str, status: int, says: str) -> None:
    answer = logged.test_client().get(url, headers=auth(token_for(logged, "auditor")))
    assert answer.status_code == status
    assert says in answer.json["error"]
