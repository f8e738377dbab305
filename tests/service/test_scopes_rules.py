"""service/scopes.py: the project of each kind of key, and filters that read project keys literally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from service import tokens
from service.runtime import runtime
from service.scopes import Scope, ScopeInvalid, check_entry, project_of
from service.storage.models import (
    ApiToken,
    CheckinRound,
    Delivery,
    Epic,
    Hypothesis,
    Iteration,
    OutboxItem,
    Stakeholder,
    ValueLogEntry,
)
from tests.conftest import auth, token_for
from tests.service import scenario


@pytest.mark.parametrize(
    ("key", "project"),
    [
        ("github:acme/portal#34", "github:acme/portal"),
        ("jira:PRM-12", "jira:PRM"),
        ("jira:MY_PROJ-3", "jira:MY_PROJ"),
        ("gitlab:group/sub/project#5", "gitlab:group/sub/project"),
        ("github:acme/portal/milestone/3", "github:acme/portal"),
        ("gitlab:group/project/milestone/7", "gitlab:group/project"),
        ("gitlab:group/iteration/9", "gitlab:group"),
        ("jira:sprint/37", None),
        ("github:project/PVT_kwDO/iteration/abc", None),
        ("github:node/I_kwDOabc", None),
        ("hypothesis:3", None),
        ("not-a-key", None),
    ],
)
def test_project_of(key: str, project: str | None) -> None:
    assert project_of(key) == project


def test_an_owner_covers_its_repositories_and_nothing_else() -> None:
    owner = Scope.of(["github:acme"])
    assert owner.covers_key("github:acme/portal#1") and owner.covers_key("github:acme/other/milestone/2")
    assert not owner.covers_key("github:acmecorp/portal#1") and not owner.covers_key("jira:ACME-1")
    assert Scope.of(["github:acme/portal"]).includes(Scope.of(["github:acme/portal"]))
    assert owner.includes(Scope.of(["github:acme/portal"])) and not Scope.of(["github:acme/portal"]).includes(owner)
    assert not owner.includes(Scope()), "a scoped token cannot grant every project"
    assert Scope().includes(owner)


def test_stakeholder_scopes_overlap_either_way() -> None:
    portal = Scope.of(["github:acme/portal"])
    assert portal.overlaps([]) and portal.overlaps(["github:acme"]) and portal.overlaps(["github:acme/portal"])
    assert not portal.overlaps(["github:acme/other", "jira:PRM"])
    assert Scope.of(["github:acme"]).overlaps(["github:acme/portal"])


@pytest.mark.parametrize("entry", ["acme/portal", "github:acme/portal#3", "github:", "jira:PRM-", "github:a b"])
def test_entries_that_name_no_project_are_refused(entry: str) -> None:
    with pytest.raises(ScopeInvalid, match="github:owner/repo"):
        check_entry(entry)


def test_like_wildcards_in_a_project_key_match_only_themselves(app: Flask) -> None:
    with runtime(app).transaction() as session:
        for key in ("jira:MY_P-1", "jira:MYXP-1", "github:a_b/c#1", "github:axb/c#1"):
            scenario.epic(session, key)
        session.add_all(
            [Stakeholder(name="one", group="citizen", scope=["jira:MYXP"]), Stakeholder(name="two", group="citizen")]
        )
        session.flush()
        keys = set(session.scalars(select(Epic.key).where(Scope.of(["jira:MY_P", "github:a_b"]).epics())))
        assert keys == {"jira:MY_P-1", "github:a_b/c#1"}
        names = set(session.scalars(select(Stakeholder.name).where(Scope.of(["jira:MY_P"]).stakeholders())))
        assert names == {"two"}, "a stakeholder without scope is everyone's; jira:MYXP is not jira:MY_P"


def test_an_expired_token_answers_401_with_its_date(app: Flask) -> None:
    secret = token_for(app, "auditor", name="contractor")
    client = app.test_client()
    assert client.get("/api/v1/epics", headers=auth(secret)).status_code == 200
    with runtime(app).transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == "contractor")
            .values(expires_at=datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
        )
    response = client.get("/api/v1/epics", headers=auth(secret))
    assert response.status_code == 401
    assert response.json["error"] == "token expired on 2026-03-31 23:00 UTC: ask an admin for a new one"


def test_expiry_forms() -> None:
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert tokens.parse_expiry("90d", now) == now + timedelta(days=90)
    assert tokens.parse_expiry("2027-03-31", now) == datetime(2027, 4, 1, tzinfo=UTC)
    assert tokens.parse_expiry("2027-03-31T18:00:00+02:00", now) == datetime(2027, 3, 31, 16, tzinfo=UTC)
    for bad, says in (("0d", "in the past"), ("2027-03-31T18:00:00", "not understood"), ("3 months", "90d")):
        with pytest.raises(tokens.TokenError, match=says):
            tokens.parse_expiry(bad, now)


def test_each_filter_on_each_engine(any_app: Flask) -> None:
    """The filters use LIKE on JSON text and string concatenation: both engines must read them the same way."""
    from tests.service.api.test_scopes import GH, JIRA, _project

    with runtime(any_app).transaction() as session:
        gh = _project(session, GH, "github:acme/portal#1", "github:acme/portal#2", "github:acme/portal/milestone/3", 1)
        jira = _project(session, JIRA, "jira:PRM-1", "jira:PRM-2", "jira:sprint/37", 2)
        for project, other in ((gh, jira), (jira, gh)):
            scope = Scope.of([project.project])

            def ids(column: Any, condition: Any) -> set[Any]:
                return set(session.scalars(select(column).where(condition)))

            assert ids(Epic.key, scope.epics()) == {project.epic}
            assert ids(Iteration.key, scope.iterations()) == {project.iteration}
            assert ids(Hypothesis.id, scope.hypotheses()) == {project.hypothesis}
            assert ids(CheckinRound.id, scope.rounds()) == {project.round}
            assert ids(Stakeholder.id, scope.stakeholders()) == {project.stakeholder}
            assert ids(Delivery.id, scope.deliveries()) == {project.delivery}
            prompt = session.scalar(select(OutboxItem.id).where(OutboxItem.target == f"prompt:{project.prompt}"))
            assert ids(OutboxItem.id, scope.outbox()) == {project.outbox, prompt}
            subjects = ids(ValueLogEntry.subject, scope.log())
            mine = {
                project.child,
                project.epic,
                project.iteration,
                f"hypothesis:{project.hypothesis}",
                f"checkin-round:{project.round}",
                f"stakeholder:{project.stakeholder}",
                f"outbox:{project.outbox}",
                f"delivery:{project.delivery}",
            }
            assert mine <= subjects
            assert not subjects & {other.epic, other.iteration, f"hypothesis:{other.hypothesis}"}
            assert not any(subject.startswith("token:") for subject in subjects)
