"""Stakeholders: validated once for the API, CLI and page; who is asked; the channel; erasure that keeps the log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import sealing
from service.checkins import stakeholders
from service.checkins.stakeholders import NewStakeholder, StakeholderChanges, StakeholderInvalid
from service.domain.taxonomy import load
from service.runtime import runtime
from service.storage.models import CheckinAnswer, CheckinRound, Epic, Hypothesis, Stakeholder, ValueLogEntry
from service.valuelog import verify_database
from tests.epics import add_epic

TAXONOMY = load()
EPIC = "github:city-council/permits#12"


def add(session, settings, **fields):
    return stakeholders.add(
        session, settings, TAXONOMY, stakeholders.parse(NewStakeholder, fields), actor="test", source="test"
    )


def hypothesis(session, epic: str = EPIC, groups: tuple[str, ...] = ("citizen", "civil-servant")) -> Hypothesis:
    if session.get(Epic, epic) is None:
        add_epic(session, epic)
    row = Hypothesis(epic_key=epic, statement="We believe ...", dimensions=["transparency"], stakeholders=list(groups))
    session.add(row)
    session.flush()
    return row


@pytest.mark.parametrize(
    ("fields", "path", "says"),
    [
        ({"name": "Ana", "group": "citizens"}, "group", "did you mean 'citizen'?"),
        ({"name": "", "group": "citizen"}, "name", "at least 1 character"),
        ({"name": "Ana", "group": "citizen", "email": "ana@"}, "email", "not a valid email"),
        ({"name": "Ana", "group": "citizen", "github": "ana smith"}, "github", "a GitHub login"),
        ({"name": "Ana", "group": "citizen", "scope": ["acme/portal"]}, "scope.0", "github:owner/repo"),
        ({"name": "Ana", "group": "citizen", "phone": "0123"}, "phone", "unknown field"),
        ({"name": "Ana", "group": "citizen", "webhook_url": "http://127.0.0.1:9000/x"}, "webhook_url", "loopback"),
        ({"name": "Ana", "group": "citizen", "webhook_url": "http://169.254.169.254/"}, "webhook_url", "metadata"),
        ({"name": "Ana", "group": "citizen", "webhook_url": "ftp://example.org/"}, "webhook_url", "only http(s)"),
    ],
)
def test_what_is_wrong_is_named_by_field(app, fields, path, says) -> None:
    with runtime(app).transaction() as session, pytest.raises(StakeholderInvalid) as caught:
        add(session, runtime(app).settings, **fields)
    assert [(p.path, says in p.message.lower() or says in p.message) for p in caught.value.problems] == [(path, True)]


def test_a_webhook_gets_a_secret_once_kept_sealed_and_the_log_holds_only_commitments(app) -> None:
    settings = runtime(app).settings
    with runtime(app).transaction() as session:
        saved = add(
            session, settings, name="Residents' panel", group="citizen", email="panel@city.example",
            webhook_url="https://93.184.216.34/hooks/pvm", scope=["github:city-council"],
        )  # fmt: skip
        person = saved.person
        assert saved.webhook_secret and saved.webhook_secret.startswith("whsec_")
        assert person.webhook_secret != saved.webhook_secret  # stored sealed
        assert stakeholders.webhook_secret(settings, person) == saved.webhook_secret
        (entry,) = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind == "stakeholder.added"))
    text = entry.canonical.decode()
    for personal in ("Residents", "panel@city.example", "93.184.216.34"):
        assert personal not in text
    assert entry.data["name"] == sealing.commit(settings, "Residents' panel")
    assert set(entry.data["contacts"]) == {"email", "webhook_url"} and entry.data["group"] == "citizen"


def test_a_new_webhook_url_gets_a_new_secret_and_removing_it_drops_the_secret(app) -> None:
    settings = runtime(app).settings
    with runtime(app).transaction() as session:
        first = add(session, settings, name="Panel", group="citizen", webhook_url="https://93.184.216.34/a")
        renamed = stakeholders.change(
            session, settings, TAXONOMY, first.person, StakeholderChanges(name="Panel B"), actor="t", source="t"
        )
        assert renamed.webhook_secret is None  # the address did not change: the secret stays
        moved = stakeholders.change(
            session, settings, TAXONOMY, first.person, StakeholderChanges(webhook_url="https://93.184.216.35/b"),
            actor="t", source="t",
        )  # fmt: skip
        assert moved.webhook_secret and moved.webhook_secret != first.webhook_secret
        stakeholders.change(
            session, settings, TAXONOMY, first.person, StakeholderChanges(webhook_url=None), actor="t", source="t"
        )
        assert first.person.webhook_url is None and first.person.webhook_secret is None


def test_who_is_asked_assigned_people_first_else_everyone_in_scope_of_the_named_groups(app) -> None:
    settings = runtime(app).settings
    with runtime(app).transaction() as session:
        h = hypothesis(session, groups=("citizen", "civil-servant", "it-developer"))
        ana = add(session, settings, name="Ana", group="citizen").person  # no scope: every project
        ben = add(session, settings, name="Ben", group="civil-servant", scope=["github:city-council"]).person
        add(session, settings, name="Cai", group="civil-servant", scope=["jira:PRM"])  # another project
        add(session, settings, name="Dee", group="user")  # a group the hypothesis does not name
        chosen = stakeholders.recipients(session, h)
        assert [p.name for p in chosen.people] == ["Ana", "Ben"]
        assert chosen.unreachable == ["it-developer"]
        stakeholders.assign(session, h, ben, actor="t", source="t")
        chosen = stakeholders.recipients(session, h)
        assert [p.name for p in chosen.people] == ["Ben"] and chosen.unreachable == ["citizen", "it-developer"]
        stakeholders.erase(session, ben, actor="t", source="t")
        assert stakeholders.recipients(session, h).people == []  # erased people are never asked
        assert ana.erased_at is None


@pytest.mark.parametrize(
    ("fields", "epic", "channel"),
    [
        ({"github": "ana", "email": "a@x.example"}, "github:o/r#1", "tracker"),
        ({"github": "ana", "email": "a@x.example"}, "jira:PRM-1", "email"),
        ({"jira": "5b10ac8d82e05b22cc7d4ef5"}, "jira:PRM-1", "tracker"),
        ({"webhook_url": "https://93.184.216.34/h"}, "jira:PRM-1", "webhook"),
        ({}, "jira:PRM-1", "link"),
    ],
)
def test_each_person_is_asked_through_one_channel(app, fields, epic, channel) -> None:
    with runtime(app).transaction() as session:
        person = add(session, runtime(app).settings, name="Ana", group="citizen", **fields).person
        assert stakeholders.channel_for(person, epic) == channel


def test_erasing_keeps_group_and_scores_removes_texts_and_the_log_still_verifies(any_app) -> None:
    rt = runtime(any_app)
    with rt.transaction() as session:
        h = hypothesis(session)
        person = add(session, rt.settings, name="Ana Citizen", group="citizen", email="ana@city.example").person
        round_ = CheckinRound(hypothesis_id=h.id, unique_key="iteration:s:1", kind="iteration")
        session.add(round_)
        session.flush()
        session.add(
            CheckinAnswer(
                round_id=round_.id, stakeholder_id=person.id, group="citizen", score=-2, text="I lost my benefit",
                worse_off="people without a smartphone", evidence_url="https://example.org/story", actor="link",
            )
        )  # fmt: skip
    with rt.transaction() as session:
        person = session.get(Stakeholder, person.id)
        assert stakeholders.erase(session, person, actor="token:po", source="api") == 1
        assert stakeholders.erase(session, person, actor="token:po", source="api") == 0  # once is enough
    with rt.transaction() as session:
        person = session.get(Stakeholder, person.id)
        assert (person.name, person.email, person.group) == (stakeholders.ERASED_NAME, None, "citizen")
        answer = session.scalars(select(CheckinAnswer)).one()
        assert (answer.score, answer.group, answer.text, answer.worse_off, answer.evidence_url) == (
            -2, "citizen", None, None, None,
        )  # fmt: skip
        dump = b"".join(session.scalars(select(ValueLogEntry.canonical)))
        assert b"Ana" not in dump and b"ana@city.example" not in dump
        assert verify_database(session).ok
        with pytest.raises(StakeholderInvalid, match="erased"):
            stakeholders.change(
                session, rt.settings, TAXONOMY, person, StakeholderChanges(name="Ana"), actor="t", source="t"
            )
