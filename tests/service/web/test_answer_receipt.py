"""The thank-you page's receipt: the answer's log entry (seq and hash) and a token-free link to its inclusion proof,
which verifies against the signed checkpoint once one covers it, and never reveals what an entry says."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from service import valuelog
from service.runtime import runtime
from service.storage.models import ValueLogEntry
from service.valuelog import checkpoint, merkle
from service.valuelog.note import Verifier
from tests.service.web.checkins import Asked, answer_path, open_round
from tests.service.web.test_answer_form import VALID, post

PROOF_FIELDS = {"seq", "hash", "leaf_index", "tree_size", "root", "path", "checkpoint", "log_key"}


def _answered(app) -> tuple[str, ValueLogEntry]:
    with runtime(app).transaction() as session:
        asked = open_round(session, [Asked("Ana Costa"), Asked("Ben Okafor")])
    client = app.test_client()
    path = answer_path(app, asked.prompt_ids[1])
    assert post(client, path, **VALID).status_code == 303
    page = html.unescape(client.get(f"{path}/thanks").get_data(as_text=True))
    with runtime(app).transaction() as session:
        entry = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "checkin.answered")).one()
        session.expunge(entry)
    return page, entry


def test_the_thank_you_page_gives_a_receipt_whose_proof_verifies(any_app) -> None:
    page, entry = _answered(any_app)
    assert "Your receipt" in page
    assert re.search(rf'<code id="receipt-seq">{entry.seq}</code>', page)
    assert f'<code id="receipt-hash" class="hash">{entry.hash}</code>' in page
    link = f"http://pvm.test/log/proof/{entry.seq}"  # PVM_BASE_URL, not the request's host: the receipt is kept
    assert f'href="{link}"' in page

    client = any_app.test_client()
    early = client.get(f"/log/proof/{entry.seq}")  # no token: citizens have none
    assert early.status_code == 409
    assert "no signed checkpoint yet" in early.json["error"]

    with runtime(any_app).transaction() as session:
        checkpoint.issue(session, runtime(any_app).settings)
    proof = client.get(f"/log/proof/{entry.seq}").json
    assert set(proof) == PROOF_FIELDS  # hashes, sizes and a signature: nothing of what the entry says
    assert proof["hash"] == entry.hash
    verifier = Verifier.parse(client.get("/.well-known/pvm-log-key").text)
    signed = checkpoint.SignedCheckpoint.parse(proof["checkpoint"], verifier)
    assert signed.size == proof["tree_size"] >= entry.seq
    merkle.verify_inclusion(
        merkle.leaf_hash(bytes.fromhex(entry.hash)),
        entry.seq - 1,
        signed.size,
        [bytes.fromhex(node) for node in proof["path"]],
        signed.root,
    )


def test_a_proof_of_an_entry_after_the_newest_checkpoint_says_when_to_come_back(app) -> None:
    with runtime(app).transaction() as session:
        valuelog.append(session, kind="ticket.created", subject="jira:BEN-1", actor="jira:a", source="jira")
        checkpoint.issue(session, runtime(app).settings)
    _page, entry = _answered(app)
    answer = app.test_client().get(f"/log/proof/{entry.seq}")
    assert answer.status_code == 409
    assert f"seq {entry.seq} is not yet covered by a signed checkpoint" in answer.json["error"]
    assert app.test_client().get("/log/proof/999999").status_code == 404
