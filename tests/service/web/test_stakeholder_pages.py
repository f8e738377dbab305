"""The stakeholder pages: the list by role, add and edit with errors in words, the webhook secret shown once,
assigning to a hypothesis, and erasure behind a confirmation; every write leaves its value-log entry."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import (
    CheckinAnswer,
    Hypothesis,
    HypothesisStakeholder,
    Stakeholder,
    ValueLogEntry,
)
from service.valuelog import verify_database
from tests.epics import add_epic
from tests.service.web.checkins import Asked, open_round
from tests.service.web.test_answer_form import csrf, text
from tests.service.web.test_hypothesis_pages import sign_in

WEBHOOK = "https://93.184.216.34/hooks/pvm"  # an address literal: checking it needs no name lookup


@pytest.fixture
def people(app) -> dict[str, int]:
    with runtime(app).transaction() as session:
        add_epic(session, "github:city/permits#12", title="Permit status online")
        hypothesis = Hypothesis(
            epic_key="github:city/permits#12",
            statement="We believe a permit status page will result in fewer calls",
            dimensions=["service-quality"],
            stakeholders=["citizen"],
        )
        retired = Hypothesis(
            epic_key="github:city/permits#12", statement="Old idea", dimensions=["efficiency"], status="retired"
        )
        ana = Stakeholder(name="Ana Costa", group="citizen", email="ana@example.org", scope=["github:city"])
        panel = Stakeholder(name="Residents' panel", group="citizen", webhook_url=WEBHOOK)
        session.add_all([hypothesis, retired, ana, panel])
        session.flush()
        return {"ana": ana.id, "panel": panel.id, "hypothesis": hypothesis.id, "retired": retired.id}


def log(app, kind: str) -> list[ValueLogEntry]:
    with runtime(app).transaction() as session:
        return list(session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == kind)))


def submit(client, path: str, **fields: str):
    return client.post(path, data={"csrf_token": csrf(client.get(path).get_data(as_text=True)), **fields})


def test_auditors_see_groups_channels_and_scope_but_no_names_or_contacts(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "auditor")
    for path in ("/stakeholders", f"/stakeholders/{people['ana']}"):
        page = text(client.get(path))
        assert "Citizens" in page and "github:city" in page and "email" in page, path
        for personal in ("Ana Costa", "ana@example.org", "Residents", WEBHOOK):
            assert personal not in page, (path, personal)
        assert "Add a stakeholder" not in page and "Erase…" not in page and ">Assign</button>" not in page
    assert f"Stakeholder #{people['ana']}" in text(client.get("/stakeholders"))
    for path in ("/stakeholders/new", f"/stakeholders/{people['ana']}/edit", f"/stakeholders/{people['ana']}/erase"):
        assert client.get(path).status_code == 403, path


def test_product_owners_see_names_and_contacts(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    page = text(client.get("/stakeholders"))
    for shown in ("Ana Costa", "ana@example.org", "Residents' panel", WEBHOOK, "every project"):
        assert shown in page, shown
    assert client.get("/stakeholders/999").status_code == 404


def test_adding_with_mistakes_shows_each_by_its_field_in_plain_words_and_keeps_what_was_typed(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    response = submit(
        client,
        "/stakeholders/new",
        name="",
        group="",
        email="ana@",
        github="ana smith",
        scope="github:city/permits\nacme/portal",
    )
    assert response.status_code == 422
    page = text(response)
    summary = page[page.index('class="error-summary"') : page.index("</div>", page.index('class="error-summary"'))]
    assert re.findall(r'href="#([^"]+)"', summary) == ["name", "group", "email", "github", "scope"]
    for field, says in (
        ("name", "Enter a name of 1 to 200 characters"),
        ("group", "Choose the stakeholder group from the list."),
        ("email", "Enter an e-mail address such as name@example.org"),
        ("github", "Enter a GitHub login: letters, digits and single hyphens"),
        ("scope", "“acme/portal” is not a project: write it as github:owner/repo"),
    ):
        assert re.search(rf'id="{field}-error">.*?{re.escape(says)}', page), field
    assert "String should" not in page and "value is not a valid" not in page
    assert 'value="ana@"' in page and 'value="ana smith"' in page and "github:city/permits\nacme/portal" in page
    assert log(app, "stakeholder.added") == []


def test_a_refused_webhook_address_is_named_with_the_rule(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    response = submit(client, "/stakeholders/new", name="Panel", group="citizen", webhook_url="http://10.0.0.7/hook")
    assert response.status_code == 422
    assert re.search(r'id="webhook_url-error">.*?private.*?PVM_ALLOWED_PRIVATE_HOSTS', text(response), re.S)


def test_the_webhook_secret_is_shown_once_after_adding(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner", name="po-maria")
    response = submit(
        client, "/stakeholders/new", name="Youth council", group="citizen", webhook_url=WEBHOOK, scope="github:city"
    )
    assert response.status_code == 303
    detail = response.headers["Location"]
    page = text(client.get(detail))
    secret = re.search(r'id="webhook-secret" class="link-field" readonly value="(whsec_[^"]+)"', page)
    assert secret and "shown this once" in page and "Stakeholder added." in page
    assert secret.group(1) not in text(client.get(detail))  # once
    (entry,) = log(app, "stakeholder.added")
    assert entry.actor == "token:po-maria" and entry.source == "web" and entry.data["group"] == "citizen"
    assert "Youth council" not in entry.canonical.decode()  # a commitment to the name, never the name
    with runtime(app).transaction() as session:
        person = session.scalar(select(Stakeholder).where(Stakeholder.name == "Youth council"))
        assert (
            person.scope == ["github:city"] and person.webhook_secret and secret.group(1) not in person.webhook_secret
        )


def test_editing_changes_what_was_changed_removes_an_emptied_contact_and_a_new_webhook_gets_a_new_secret(
    app, people
) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    path = f"/stakeholders/{people['ana']}/edit"
    form = text(client.get(path))
    assert 'value="Ana Costa"' in form and 'value="ana@example.org"' in form and "github:city</textarea>" in form
    response = submit(client, path, name="Ana Costa", group="user", email="", github="ana-c", scope="github:city")
    assert response.status_code == 303
    with runtime(app).transaction() as session:
        ana = session.get(Stakeholder, people["ana"])
        assert (ana.group, ana.email, ana.github) == ("user", None, "ana-c")
    (entry,) = log(app, "stakeholder.updated")
    assert entry.data["changed"] == ["email", "github", "group"]
    assert "webhook-secret" not in text(client.get(response.headers["Location"]))

    panel = f"/stakeholders/{people['panel']}/edit"
    kept = submit(client, panel, name="Residents' panel", group="citizen", webhook_url=WEBHOOK)
    assert "webhook-secret" not in text(client.get(kept.headers["Location"]))  # same address: no new secret
    moved = submit(client, panel, name="Residents' panel", group="citizen", webhook_url="https://93.184.216.35/x")
    assert 'id="webhook-secret"' in text(client.get(moved.headers["Location"]))

    bad = submit(client, path, name="", group="citizen")
    assert bad.status_code == 422 and "Enter a name of 1 to 200 characters" in text(bad)


def test_assigning_and_unassigning_go_to_the_log_and_retired_hypotheses_are_not_offered(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    detail = f"/stakeholders/{people['ana']}"
    page = text(client.get(detail))
    assert f'<option value="{people["hypothesis"]}">' in page and f'<option value="{people["retired"]}">' not in page
    missing = client.post(
        f"{detail}/assignments", data={"csrf_token": csrf(page), "hypothesis_id": ""}, follow_redirects=False
    )
    assert missing.status_code == 422 and "Choose a hypothesis from the list." in text(missing)
    assigned = client.post(
        f"{detail}/assignments", data={"csrf_token": csrf(page), "hypothesis_id": people["hypothesis"]}
    )
    assert assigned.status_code == 303
    page = text(client.get(detail))
    assert "only the people assigned to it are asked about it now" in page and "a permit status page" in page
    with runtime(app).transaction() as session:
        assert session.get(HypothesisStakeholder, (people["hypothesis"], people["ana"])) is not None
    assert [e.data["stakeholder"] for e in log(app, "stakeholder.assigned")] == [people["ana"]]

    remove = f"{detail}/assignments/{people['hypothesis']}/remove"
    assert client.post(remove, data={"csrf_token": csrf(page)}).status_code == 303
    with runtime(app).transaction() as session:
        assert session.get(HypothesisStakeholder, (people["hypothesis"], people["ana"])) is None
    assert len(log(app, "stakeholder.unassigned")) == 1
    assert "Was not assigned" in text(client.post(remove, data={"csrf_token": csrf(page)}, follow_redirects=True))


def test_erasing_asks_first_then_removes_the_personal_data_and_the_log_still_verifies(app, people) -> None:
    with runtime(app).transaction() as session:
        asked = open_round(session, [Asked("Someone else")])
        session.add(
            CheckinAnswer(
                round_id=asked.id, stakeholder_id=people["ana"], group="citizen", score=-1, text="Hard to find",
                channel="link", actor=f"stakeholder:{people['ana']}",
            )
        )  # fmt: skip
    client = app.test_client()
    sign_in(client, app, "product-owner")
    confirm = client.get(f"/stakeholders/{people['ana']}/erase")
    page = text(confirm)
    assert confirm.status_code == 200 and "Erase Ana Costa?" in page and "the words of their 1\n  answer" in page
    assert "This cannot be undone." in page
    assert log(app, "stakeholder.erased") == []  # looking is not erasing

    response = client.post(f"/stakeholders/{people['ana']}/erase", data={"csrf_token": csrf(page)})
    assert response.status_code == 303
    after = text(client.get(response.headers["Location"]))
    assert f"Stakeholder #{people['ana']} was erased" in after and "Ana Costa" not in after
    with runtime(app).transaction() as session:
        ana = session.get(Stakeholder, people["ana"])
        answer = session.scalar(select(CheckinAnswer).where(CheckinAnswer.stakeholder_id == ana.id))
        assert (ana.name, ana.email, ana.group) == ("(erased)", None, "citizen")
        assert (answer.text, answer.score) == (None, -1)
        assert verify_database(session).ok
    assert len(log(app, "stakeholder.erased")) == 1
    assert client.get(f"/stakeholders/{people['ana']}/edit").status_code == 410


def test_every_write_needs_its_csrf_token_and_the_role(app, people) -> None:
    client = app.test_client()
    sign_in(client, app, "product-owner")
    for path, data in (
        ("/stakeholders/new", {"name": "X", "group": "citizen"}),
        (f"/stakeholders/{people['ana']}/erase", {}),
        (f"/stakeholders/{people['ana']}/assignments", {"hypothesis_id": str(people["hypothesis"])}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400 and "Reload the form and send it again." in text(response), path
    team = app.test_client()
    sign_in(team, app, "team")
    page = text(team.get("/stakeholders"))
    assert team.post(f"/stakeholders/{people['ana']}/erase", data={"csrf_token": csrf(page)}).status_code == 403
    with runtime(app).transaction() as session:
        assert session.get(Stakeholder, people["ana"]).erased_at is None
        assert session.scalar(select(Stakeholder).where(Stakeholder.name == "X")) is None
