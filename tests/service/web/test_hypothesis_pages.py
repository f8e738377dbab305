"""The web pages through Flask's test client: sign-in, the epic page, the hypothesis form, roles and CSRF."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from service import tokens
from service.hypotheses.blocks import sync_from_description
from service.runtime import runtime
from service.storage.models import Hypothesis, ValueLogEntry
from tests.conftest import token_for
from tests.epics import add_epic

EPIC = "github:acme/benefits-portal#34"
EPIC_URL = "/epics/github:acme/benefits-portal%2334"
BLOCK = """Intro

```value-hypothesis
statement: We believe publishing the refusal rules for applicants will result in fewer appeals
dimensions: [transparency, trust-legitimacy]
stakeholders: [citizen, civil-servant]
indicators: [share of refusals appealed]
measure: {name: refusals appealed, baseline: {value: 0.18, date: 2026-09-01, source: case system},
          target: {value: 0.10, date: 2027-03-31}}
owner: service-owner
risks: [{dimension: privacy-security, description: more data shown, watch: complaints about exposure}]
trade-offs: [efficiency]
```
"""


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form has no CSRF token"
    return match.group(1)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def epic(app):
    with runtime(app).transaction() as session:
        add_epic(
            session,
            EPIC,
            children={
                "github:acme/benefits-portal#35": ["value:transparency", "frontend"],
                "github:acme/benefits-portal#36": ["value-risk/privacy"],
                "github:acme/benefits-portal#37": ["bug"],
            },
        )
        sync_from_description(session, epic_key=EPIC, description=BLOCK, actor="github:maria", source="github")
        broken = BLOCK.replace("[transparency, trust-legitimacy]", "[transparancy]")
        sync_from_description(session, epic_key=EPIC, description=broken, actor="github:maria", source="github")


def sign_in(client, app, role: str, name: str | None = None) -> str:
    secret = token_for(app, role, name=name)
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin?next=/epics", data={"token": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/epics"
    return secret


def test_pages_need_sign_in_and_a_wrong_token_is_explained(app, epic) -> None:
    client = app.test_client()
    response = client.get(EPIC_URL)
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next=")
    page = client.get("/signin").get_data(as_text=True)
    wrong = client.post("/signin", data={"token": "pvm_nope", "csrf_token": csrf(page)})
    assert wrong.status_code == 200 and "unknown or revoked token" in text(wrong)
    # An outside address in `next` is not followed after sign-in.
    secret = token_for(app, "auditor")
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin?next=//evil.example/", data={"token": secret, "csrf_token": csrf(page)})
    assert response.headers["Location"] == "/epics"


def test_epic_page_shows_hypotheses_children_labels_and_history(app, epic) -> None:
    client = app.test_client()
    sign_in(client, app, "auditor", name="audit-office")
    listing = text(client.get("/epics"))
    assert 'href="/epics/github:acme/benefits-portal%2334"' in html.escape(listing, quote=False) or EPIC_URL in listing
    page = text(client.get(EPIC_URL))
    for expected in (
        "We believe publishing the refusal rules for applicants will result in fewer appeals",
        "Transparency",
        "Trust and legitimacy",
        "Citizens",
        "Civil servants",
        "share of refusals appealed",
        "refusals appealed",
        "baseline 0.18 on 2026-09-01 (case system)",
        "target 0.1 by 2027-03-31",
        "service-owner",
        "more data shown",
        "watch: complaints about exposure",
        "Efficiency",
        "github:acme/benefits-portal#35",
        "+ Transparency",
        "⚠ Privacy and security",
        "untagged",  # #37 has only `bug`
        "hypothesis.created",
        "hypothesis.invalid",
        "did you mean 'transparency'?",
        "github:maria",
    ):
        assert expected in page, expected
    # Auditors read but do not get the write links.
    assert "State a hypothesis" not in page and ">Edit<" not in page
    assert client.get(f"/hypotheses/new?epic={EPIC.replace('#', '%23')}").status_code == 403
    assert client.get("/epics/jira:NOPE-1").status_code == 404


def test_form_creates_then_edits_with_errors_next_to_fields(app, epic) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner", name="po-ben")
    form_url = "/hypotheses/new?epic=github:acme/benefits-portal%2334"
    page = client.get(form_url).get_data(as_text=True)
    assert "Value dimensions" in page
    bad = {
        "csrf_token": csrf(page),
        "statement": "We believe a status tracker for applicants will result in fewer phone calls",
        "dimensions": ["service-quality", "efficiency"],
        "stakeholders": ["citizen"],
        "measure_name": "calls per week",
        "target_value": "300",
        "target_date": "2027-02-30",
        "risks": "privacy-security only half a line",
        "status": "proposed",
        "confidence": "",
    }
    response = client.post(form_url, data=bad)
    assert response.status_code == 200
    body = text(response)
    assert re.search(r'id="baseline_value-error">a target needs a baseline', body)
    assert re.search(r"id=\"risks-error\">line 1: write `dimension \| what might get worse \| watch`", body)
    good = {
        **bad,
        "risks": "privacy-security | status shown to the wrong person | misdirected status mails",
        "baseline_value": "1200",
        "baseline_date": "2026-10-01",
        "baseline_source": "call centre",
    }
    response = client.post(form_url, data=good)
    assert response.status_code == 200 and re.search(
        r'id="target_date-error">\'2027-02-30\' is not a date', text(response)
    )
    good["target_date"] = "2027-02-28"
    response = client.post(form_url, data=good)
    assert response.status_code == 302 and response.headers["Location"] == EPIC_URL
    assert "Hypothesis saved." in text(client.get(EPIC_URL))

    with runtime(app).transaction() as session:
        created = session.scalars(select(Hypothesis).where(Hypothesis.origin == "ui")).one()
        assert created.measure == {
            "name": "calls per week",
            "baseline": {"value": 1200.0, "date": "2026-10-01", "source": "call centre"},
            "target": {"value": 300.0, "date": "2027-02-28"},
        }
        entry = session.scalars(select(ValueLogEntry).where(ValueLogEntry.subject == f"hypothesis:{created.id}")).one()
        assert (entry.kind, entry.actor, entry.source) == ("hypothesis.created", "token:po-ben", "web")

    edit_url = f"/hypotheses/{created.id}/edit"
    page = client.get(edit_url).get_data(as_text=True)
    assert "status shown to the wrong person" in html.unescape(page)
    changed = {**good, "csrf_token": csrf(page), "status": "active", "reason": "", "target_value": "250"}
    changed["dimensions"] = ["service-quality"]
    response = client.post(edit_url, data=changed)
    assert re.search(r'id="reason-error">a status change needs a reason', text(response))
    changed["reason"] = "tracker live for 10 % of applicants"
    response = client.post(edit_url, data=changed)
    assert response.status_code == 302
    history = text(client.get(EPIC_URL))
    assert "Reason: tracker live for 10 % of applicants" in history
    assert re.search(r"<strong>status</strong>: <del>proposed</del> → <ins>active</ins>", history)
    # Values read as text: one line per changed value inside the measure, lists joined, no Python repr.
    assert "<strong>measure.target.value</strong>: <del>300</del> → <ins>250</ins>" in history
    assert "measure.baseline" not in history and "'name'" not in history
    assert "<strong>dimensions</strong>: <del>service-quality; efficiency</del> → <ins>service-quality</ins>" in history


@pytest.mark.parametrize(("role", "allowed"), [("team", True), ("product-owner", True), ("auditor", False)])
def test_form_roles_team_and_product_owner_write_auditor_may_not(app, epic, role, allowed) -> None:
    client = app.test_client()
    sign_in(client, app, role)
    with runtime(app).transaction() as session:
        hypothesis_id = session.scalars(select(Hypothesis.id).where(Hypothesis.epic_key == EPIC)).one()
    # A valid CSRF token from a page the auditor may see: the refusal is the role, not the missing token.
    token = csrf(client.get(EPIC_URL).get_data(as_text=True))
    edit = {
        "csrf_token": token,
        "statement": "We believe plain-language refusals will result in fewer appeals",
        "dimensions": ["transparency"],
        "status": "proposed",
        "confidence": "",
    }
    response = client.post(f"/hypotheses/{hypothesis_id}/edit", data=edit)
    created = client.post("/hypotheses/new?epic=github:acme/benefits-portal%2334", data=edit)
    with runtime(app).transaction() as session:
        statements = list(session.scalars(select(Hypothesis.statement).where(Hypothesis.epic_key == EPIC)))
        writes = session.scalars(
            select(ValueLogEntry.kind).where(ValueLogEntry.source == "web").order_by(ValueLogEntry.seq)
        ).all()
    if allowed:
        assert (response.status_code, created.status_code) == (302, 302)
        assert statements == [edit["statement"], edit["statement"]]
        assert writes == ["hypothesis.updated", "hypothesis.created"]
    else:
        assert (response.status_code, created.status_code) == (403, 403)
        assert "your role (auditor) may not do this; roles that may: team, product-owner, admin" in text(response)
        assert statements == ["We believe publishing the refusal rules for applicants will result in fewer appeals"]
        assert writes == []


def test_form_states_a_hypothesis_past_proposed_only_with_a_reason(app, epic) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner", name="po-ben")
    form_url = "/hypotheses/new?epic=github:acme/benefits-portal%2334"
    data = {
        "csrf_token": csrf(client.get(form_url).get_data(as_text=True)),
        "statement": "We believe the callback service keeps applicants informed",
        "dimensions": ["service-quality"],
        "status": "active",
        "confidence": "",
        "reason": "",
    }
    refused = client.post(form_url, data=data)
    assert refused.status_code == 200
    assert re.search(r"id=\"reason-error\">a hypothesis that starts as 'active' needs a reason", text(refused))
    data["reason"] = "the callback service runs since October"
    assert client.post(form_url, data=data).status_code == 302
    with runtime(app).transaction() as session:
        entry = session.scalars(
            select(ValueLogEntry).where(ValueLogEntry.kind == "hypothesis.created", ValueLogEntry.source == "web")
        ).one()
        assert entry.data["reason"] == "the callback service runs since October"
        assert entry.data["new"]["status"] == "active"


def test_forms_refuse_posts_without_csrf_token_but_the_api_does_not_need_one(app, epic) -> None:
    client = app.test_client()
    sign_in(client, app, "team")
    response = client.post("/hypotheses/new?epic=github:acme/benefits-portal%2334", data={"statement": "x"})
    assert response.status_code == 400 and "CSRF" in text(response)
    api = client.post(
        "/api/v1/epics/github:acme/benefits-portal%2334/hypotheses",
        json={"statement": "S", "dimensions": ["outcomes"]},
        headers={"Authorization": f"Bearer {token_for(app, 'team')}"},
    )
    assert api.status_code == 201


def test_revoked_token_signs_out_and_sign_out_works(app, epic) -> None:
    client = app.test_client()
    sign_in(client, app, "team", name="leaver")
    assert client.get("/epics").status_code == 200
    with runtime(app).transaction() as session:
        tokens.revoke(session, name="leaver", actor="test")
    assert client.get("/epics").status_code == 302
    sign_in(client, app, "team", name="stayer")
    page = client.get("/epics").get_data(as_text=True)
    assert client.post("/signout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get("/epics").status_code == 302


def test_webhooks_are_exempt_from_csrf_and_other_forms_are_not(tmp_path) -> None:
    import hashlib
    import hmac

    from flask import Blueprint

    from tests.conftest import GITHUB_SECRET, build_app, make_settings

    app = build_app(make_settings(tmp_path))
    other = Blueprint("other_forms", __name__)
    other.add_url_rule("/other", "other", lambda: ("", 200), methods=["POST"])
    app.register_blueprint(other)  # after create_app, as a later module may do
    client = app.test_client()
    body = b'{"zen": "Design for failure.", "hook_id": 1}'
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "csrf-1", "X-Hub-Signature-256": signature}
    response = client.post("/webhooks/github", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 202
    assert client.post("/other", data={}).status_code == 400
    runtime(app).engine.dispose()


def test_a_measure_read_from_a_source_keeps_its_source_through_the_form(app, epic) -> None:
    """The daily pull reads `source_url` with `path` or `column`: editing the hypothesis on its page keeps them."""
    headers = {"Authorization": f"Bearer {token_for(app, 'team')}"}
    measure = {"name": "appeal rate", "source_url": "https://93.184.216.34/stats.json", "path": "data.rate"}
    created = app.test_client().post(
        "/api/v1/epics/github:acme/benefits-portal%2334/hypotheses",
        json={"statement": "We believe clear letters cut appeals", "dimensions": ["transparency"], "measure": measure},
        headers=headers,
    )
    assert created.status_code == 201, created.json
    client = app.test_client()
    sign_in(client, app, "team")
    edit_url = f"/hypotheses/{created.json['id']}/edit"
    page = client.get(edit_url).get_data(as_text=True)
    assert 'value="https://93.184.216.34/stats.json"' in page and 'value="data.rate"' in page
    form = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    form |= {"statement": "We believe clear letters cut appeals a lot", "dimensions": ["transparency"]}
    form |= {"csrf_token": csrf(page), "owner": "letters team"}
    assert client.post(edit_url, data=form).status_code == 302
    with runtime(app).transaction() as session:
        kept = session.get(Hypothesis, created.json["id"])
        assert kept.owner == "letters team" and kept.measure == measure
