"""The whole flow, webhook to outbox: signed delivery -> inbox -> worker -> state + value log -> rules -> outbox.

Each test goes through the real endpoint and the real worker; only the trackers' APIs are absent, so the outbox
runs in dry-run (`record`) or, without credentials, keeps actions as `skipped` with the reason.
"""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import Epic, Hypothesis, OutboxItem, ValueLogEntry
from service.worker import Worker
from tests import deliveries
from tests.conftest import build_app, make_settings

EPIC, STORY = "jira:PERM-12", "jira:PERM-31"


@pytest.fixture
def dry_run_app(tmp_path):
    app = build_app(make_settings(tmp_path, outbound="record"))
    yield app
    runtime(app).engine.dispose()


def outbox(app) -> list[OutboxItem]:
    with runtime(app).transaction() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def log_kinds(app, subject: str | None = None) -> list[str]:
    with runtime(app).transaction() as session:
        query = select(ValueLogEntry.kind).order_by(ValueLogEntry.seq)
        if subject:
            query = query.where(ValueLogEntry.subject == subject)
        return list(session.scalars(query))


def work(app) -> None:
    """Run the worker until the inbox and the outbox are both empty."""
    worker = Worker(runtime(app))
    while worker.run_once():
        pass


def test_unknown_value_label_is_answered_with_the_closest_dimension(dry_run_app) -> None:
    client = dry_run_app.test_client()
    assert deliveries.github(client, "issues", deliveries.fixture("github", "issues__opened")).status_code == 202
    work(dry_run_app)
    ticket = "github:city-council/permits#35"
    assert "label.unknown" in log_kinds(dry_run_app, ticket)
    assert "rule.fired" in log_kinds(dry_run_app, ticket)
    replies = [item for item in outbox(dry_run_app) if item.target == ticket and item.action == "comment"]
    unknown = [item for item in replies if "value:transparancy" in item.body["text"]]
    assert len(unknown) == 1
    assert "Did you mean `value:transparency`?" in unknown[0].body["text"]
    assert unknown[0].status == "recorded"  # dry run: recorded with the body it would send, nothing sent
    assert unknown[0].cause and unknown[0].cause.startswith("rule:unknown-value-label delivery:")


def test_without_credentials_actions_are_skipped_and_the_delivery_still_counts(app) -> None:
    client = app.test_client()
    deliveries.github(client, "issues", deliveries.fixture("github", "issues__opened"), delivery="d-35")
    work(app)
    items = outbox(app)
    assert items and {item.status for item in items} == {"skipped"}
    assert all("PVM_GITHUB_TOKEN" in (item.error or "") for item in items)
    response = client.get("/api/v1/deliveries", headers=_admin(app))
    assert [d["status"] for d in response.json["items"] if d["delivery_id"] == "d-35"] == ["processed"]


def _admin(app) -> dict[str, str]:
    from tests.conftest import auth, token_for

    return auth(token_for(app, "admin"))


def test_hypothesis_block_in_a_jira_epic_becomes_a_hypothesis_and_moves_with_the_sprint(dry_run_app) -> None:
    client = dry_run_app.test_client()
    for name in ("sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", "issue_created__story"):
        assert deliveries.jira(client, deliveries.fixture("jira", name)).status_code == 202
        work(dry_run_app)
    with runtime(dry_run_app).transaction() as session:
        hypothesis = session.scalars(select(Hypothesis).where(Hypothesis.epic_key == EPIC)).one()
        assert hypothesis.dimensions == ["transparency", "trust-legitimacy"]
        assert hypothesis.origin == "block"
        # The story of this epic is in the running sprint: the epic's work has started.
        assert session.get(Epic, EPIC).phase == "during"
        assert hypothesis.phase == "during"
    assert log_kinds(dry_run_app, EPIC)[:2] == ["ticket.created", "label.added"]
    assert "epic.phase_changed" in log_kinds(dry_run_app, EPIC)
    # The epic has a hypothesis, so there is no ex-ante nudge on it.
    assert not [item for item in outbox(dry_run_app) if item.target == EPIC and "hypothesis" in item.body["text"]]


def test_invalid_block_is_logged_and_the_author_is_told_what_is_wrong(dry_run_app) -> None:
    payload = copy.deepcopy(deliveries.fixture("jira", "issue_created__epic"))
    payload["issue"]["fields"]["description"] = (
        "Letters applicants understand.\r\n\r\n{code:value-hypothesis}\r\n"
        "statement: We believe plain-language refusal letters will result in fewer appeals\r\n"
        "dimensions: [transparancy]\r\n"
        "stakeholders: [citizens]\r\n{code}\r\n"
    )
    client = dry_run_app.test_client()
    assert deliveries.jira(client, payload).status_code == 202
    work(dry_run_app)
    assert "hypothesis.invalid" in log_kinds(dry_run_app, EPIC)
    with runtime(dry_run_app).transaction() as session:
        assert session.scalars(select(Hypothesis).where(Hypothesis.epic_key == EPIC)).all() == []
    replies = [item for item in outbox(dry_run_app) if item.target == EPIC and "could not be read" in item.body["text"]]
    assert len(replies) == 1
    text = replies[0].body["text"]
    assert "did you mean 'transparency'?" in text
    assert "did you mean 'citizen'?" in text
    assert "line 5" in text  # the line within the description, CRLF counted as one line break
    # Written for a person: items counted from 1, and what is in force meanwhile.
    assert "- line 5: dimensions, item 1: unknown dimension 'transparancy'" in text
    assert "Until then, no hypothesis is recorded from this block." in text

    # Fixed, then broken again by a later edit: the reply names the hypothesis that stays as it was.
    fixed = copy.deepcopy(payload)
    fixed["webhookEvent"], fixed["issue_event_type_name"] = "jira:issue_updated", "issue_updated"
    fixed["timestamp"] += 60_000
    fixed["issue"]["fields"]["description"] = (
        payload["issue"]["fields"]["description"].replace("transparancy", "transparency").replace("citizens", "citizen")
    )
    assert deliveries.jira(client, fixed).status_code == 202
    work(dry_run_app)
    with runtime(dry_run_app).transaction() as session:
        [hypothesis] = session.scalars(select(Hypothesis).where(Hypothesis.epic_key == EPIC)).all()
    broken = copy.deepcopy(fixed)
    broken["timestamp"] += 60_000
    broken["issue"]["fields"]["description"] = fixed["issue"]["fields"]["description"].replace(
        "[transparency]", "[transparency, trsut]"
    )
    assert deliveries.jira(client, broken).status_code == 202
    work(dry_run_app)
    replies = [item for item in outbox(dry_run_app) if item.target == EPIC and "could not be read" in item.body["text"]]
    assert len(replies) == 2
    assert "dimensions, item 2: unknown dimension 'trsut'" in replies[1].body["text"]
    assert f"Until then, hypothesis #{hypothesis.id} stays as it was before this edit." in replies[1].body["text"]


def test_done_when_a_product_owner_states_sees_and_changes_a_hypothesis_and_an_auditor_reads_its_history(
    dry_run_app,
) -> None:
    """Issue's 'done when': stated in a Jira description, seen on the epic page, changed there and in the block,
    and the whole history read by an auditor from the value log, who cannot write."""
    from tests.conftest import auth, token_for
    from tests.service.web.test_hypothesis_pages import csrf, sign_in

    client = dry_run_app.test_client()
    payload = copy.deepcopy(deliveries.fixture("jira", "issue_created__epic"))
    assert deliveries.jira(client, payload).status_code == 202
    work(dry_run_app)
    with runtime(dry_run_app).transaction() as session:
        [hypothesis] = session.scalars(select(Hypothesis).where(Hypothesis.epic_key == EPIC)).all()
        hid = hypothesis.id

    # The product owner sees it on the epic page and changes it through the form.
    owner = dry_run_app.test_client()
    sign_in(owner, dry_run_app, "product-owner", name="priya")
    page = owner.get(f"/epics/{EPIC}").get_data(as_text=True)
    assert "We believe publishing the refusal rules for applicants will result in fewer appeals" in page
    form = owner.get(f"/hypotheses/{hid}/edit").get_data(as_text=True)
    edit = {
        "csrf_token": csrf(form),
        "statement": "We believe publishing the refusal rules for applicants will result in fewer appeals",
        "dimensions": ["transparency", "trust-legitimacy"],
        "stakeholders": ["citizen", "civil-servant"],
        "owner": "Priya",
        "status": "active",
        "confidence": "",
        "reason": "rules page went live on 1 December",
    }
    assert owner.post(f"/hypotheses/{hid}/edit", data=edit).status_code == 302

    # ...and in the Jira description, then the epic is closed.
    edited = copy.deepcopy(payload)
    edited["webhookEvent"], edited["issue_event_type_name"] = "jira:issue_updated", "issue_updated"
    edited["timestamp"] += 60_000
    edited["issue"]["fields"]["description"] = payload["issue"]["fields"]["description"].replace(
        "stakeholders: [citizen, civil-servant]",
        "stakeholders: [citizen, civil-servant]\nowner: Priya\nconfidence: at risk",
    )
    assert deliveries.jira(client, edited).status_code == 202
    closed = copy.deepcopy(edited)
    closed["timestamp"] += 60_000
    closed["issue"]["fields"]["status"]["statusCategory"]["key"] = "done"
    assert deliveries.jira(client, closed).status_code == 202
    work(dry_run_app)

    auditor = auth(token_for(dry_run_app, "auditor", name="audit-office"))
    history = client.get(f"/api/v1/log?subject=hypothesis:{hid}", headers=auditor).json["items"]
    assert [(e["kind"], e["source"]) for e in history] == [
        ("hypothesis.created", "jira"),
        ("hypothesis.updated", "web"),
        ("hypothesis.updated", "jira"),
        ("hypothesis.updated", "jira"),
    ]
    created, by_form, by_block, by_close = (e["data"] for e in history)
    assert created["old"] is None and created["new"]["status"] == "proposed"
    assert by_form["changes"]["status"] == {"old": "proposed", "new": "active"}
    assert by_form["reason"] == "rules page went live on 1 December" and history[1]["actor"] == "token:priya"
    assert by_block["changes"] == {"confidence": {"old": None, "new": "at risk"}}
    assert by_close["changes"] == {"phase": {"old": "ex-ante", "new": "ex-post"}}
    # The auditor reads but cannot write, through the API or the form.
    refused = client.patch(f"/api/v1/hypotheses/{hid}", json={"owner": "someone else"}, headers=auditor)
    assert refused.status_code == 403
    reader = dry_run_app.test_client()
    sign_in(reader, dry_run_app, "auditor")
    token = csrf(reader.get(f"/epics/{EPIC}").get_data(as_text=True))
    assert reader.post(f"/hypotheses/{hid}/edit", data={**edit, "csrf_token": token}).status_code == 403
    assert [e["seq"] for e in client.get(f"/api/v1/log?subject=hypothesis:{hid}", headers=auditor).json["items"]] == [
        e["seq"] for e in history
    ]
