"""Token scopes: every /api/v1 route x every role x {unscoped, in scope, out of scope}, over a GitHub and a Jira
project with an epic, hypothesis, readings, a round with answers and prompts, stakeholders, outbox items,
deliveries and log entries each. Object routes name GitHub objects: a `github:acme/portal` token may use them, a
`jira:PRM` token gets 404 as if they did not exist. Lists must hold only what is in the token's scope.

The table must name every /api/v1 route: a new route fails `test_the_table_names_every_api_route` until it is added
here with its scope rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import tokens, valuelog
from service.access import ROLES, allows
from service.checkins import stakeholders
from service.checkins.stakeholders import NewStakeholder
from service.domain.taxonomy import load
from service.hypotheses import commands
from service.hypotheses.schema import NewHypothesis, validate
from service.runtime import runtime
from service.scopes import Scope, project_of
from service.storage.models import (
    ApiToken,
    CheckinPrompt,
    CheckinRound,
    Delivery,
    Hypothesis,
    HypothesisStakeholder,
    OutboxItem,
    Stakeholder,
    TicketIteration,
)
from service.valuelog import checkpoint
from tests.conftest import auth, build_app, make_settings
from tests.service import scenario

GH, JIRA = "github:acme/portal", "jira:PRM"
SCOPES: dict[str, list[str]] = {"unscoped": [], "in-scope": [GH], "out-of-scope": [JIRA]}
HYPOTHESIS = {
    "statement": "We believe publishing the refusal rules for applicants will result in fewer appeals",
    "dimensions": ["transparency"],
    "stakeholders": ["citizen"],
    "measure": {
        "name": "refusals appealed",
        "baseline": {"value": 0.18, "date": "2026-09-01", "source": "case system"},
        "target": {"value": 0.1, "date": "2027-03-31"},
    },
}


@dataclass
class Project:
    """The ids of one project's objects."""

    project: str
    epic: str
    child: str
    iteration: str
    hypothesis: int
    round: int
    prompt: int
    stakeholder: int
    outbox: int
    delivery: int
    entry: int  # the seq of a value-log entry about the project's ticket


@dataclass
class World:
    app: Flask
    gh: Project
    jira: Project
    secrets: dict[tuple[str, str], str]


def _project(session: Session, project: str, epic: str, child: str, iteration: str, number: int) -> Project:
    taxonomy = load()
    scenario.epic(session, epic)
    scenario.ticket(session, child, epic_key=epic, labels=["value:transparency"])
    scenario.sprint(session, iteration, number)
    scenario.join(session, child, iteration)
    fields = validate(HYPOTHESIS, taxonomy, NewHypothesis)
    hypothesis, _ = commands.create(
        session, epic_key=epic, fields=fields, origin="api", actor="test", source="api", reason=None
    )
    commands.add_reading(
        session, hypothesis, value=0.16, on=date(2026, 10, 1), reading_source="case system", actor="test", source="api"
    )
    round_ = scenario.round_(session, hypothesis.id, iteration)
    scenario.prompts(session, round_.id, "citizen", sent=2, answered=1)
    scenario.answers(session, round_.id, "citizen", 1, 2)
    prompt = session.scalars(select(CheckinPrompt.id).where(CheckinPrompt.round_id == round_.id)).first()
    assert prompt is not None
    valuelog.append(
        session, kind="checkin.opened", subject=f"checkin-round:{round_.id}", data={}, actor="clock", source="clock"
    )
    settings = make_settings(Path("unused"))
    person = stakeholders.add(
        session,
        settings,
        taxonomy,
        NewStakeholder(name=f"Resident of {project}", group="citizen", email="resident@example.org", scope=[project]),
        actor="test",
        source="api",
    ).person
    session.add(HypothesisStakeholder(hypothesis_id=hypothesis.id, stakeholder_id=person.id))
    tracker = project.split(":")[0]
    outbox = OutboxItem(tracker=tracker, action="comment", target=child, body={"text": "Thanks"}, status="dead")
    session.add(outbox)
    session.add(OutboxItem(tracker="email", action="prompt", target=f"prompt:{prompt}", body={}, status="recorded"))
    delivery = Delivery(
        source=tracker,
        delivery_id=f"d-{tracker}",
        event="issues",
        headers={},
        body=b"{}",
        body_sha256="0" * 64,
        partition_key=child,
        status="processed",
    )
    session.add(delivery)
    session.flush()
    entry = valuelog.append(session, kind="ticket.updated", subject=child, data={}, actor="test", source=tracker)
    for subject in (epic, iteration, f"delivery:{delivery.id}", f"outbox:{outbox.id}"):
        valuelog.append(session, kind="ticket.updated", subject=subject, data={}, actor="test", source=tracker)
    return Project(
        project, epic, child, iteration, hypothesis.id, round_.id, prompt, person.id, outbox.id, delivery.id, entry.seq
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = build_app(make_settings(tmp_path_factory.mktemp("scopes")))
    with runtime(app).transaction() as session:
        gh = _project(session, GH, "github:acme/portal#1", "github:acme/portal#2", "github:acme/portal/milestone/3", 1)
        jira = _project(session, JIRA, "jira:PRM-1", "jira:PRM-2", "jira:sprint/37", 2)
        # An ignored delivery names no subject: only unscoped tokens see it.
        session.add(
            Delivery(source="github", delivery_id="d-ignored", event="ping", headers={}, body=b"{}", body_sha256="1")
        )
        secrets = {
            (role, label): tokens.create(
                session, name=f"{role}-{label}", role=role, actor="test", scope=Scope.of(entries)
            )
            for role in ROLES
            for label, entries in SCOPES.items()
        }
    with runtime(app).transaction() as session:
        checkpoint.issue(session, runtime(app).settings)  # the proofs are answered against a signed checkpoint
    yield World(app, gh, jira, secrets)
    runtime(app).engine.dispose()


# --- what each list item belongs to, worked out here independently of service/scopes.py's SQL -------------------


def _of_hypothesis(session: Session, hypothesis_id: int) -> str | None:
    hypothesis = session.get(Hypothesis, hypothesis_id)
    return project_of(hypothesis.epic_key) if hypothesis else None


def _of_round(session: Session, round_id: int) -> str | None:
    row = session.get(CheckinRound, round_id)
    return _of_hypothesis(session, row.hypothesis_id) if row else None


EVERYONE = "(everyone)"  # a stakeholder with no scope follows every project, so every token sees it


def _of_scope(entries: list[str]) -> str | None:
    return entries[0] if len(entries) == 1 else None


def _of_stakeholder(entries: list[str]) -> str | None:
    return _of_scope(entries) if entries else EVERYONE


def _of_key(session: Session, key: str) -> str | None:
    """A key's project; a sprint's is that of its tickets (when they all share one)."""
    own = project_of(key)
    if own is not None:
        return own
    members = session.scalars(select(TicketIteration.ticket_key).where(TicketIteration.iteration_key == key))
    projects = {project_of(member) for member in members}
    return projects.pop() if len(projects) == 1 else None


def _of_target(world: World, target: str) -> str | None:
    prompts = {f"prompt:{p.prompt}": p.project for p in (world.gh, world.jira)}
    return prompts.get(target) or project_of(target)


def _of_subject(world: World, session: Session, subject: str) -> str | None:
    kind, _, rest = subject.partition(":")
    by_id: dict[str, Callable[[int], str | None]] = {
        "hypothesis": lambda i: _of_hypothesis(session, i),
        "checkin-round": lambda i: _of_round(session, i),
        "stakeholder": lambda i: _of_stakeholder(session.get(Stakeholder, i).scope),  # type: ignore[union-attr]
        "delivery": lambda i: project_of(session.get(Delivery, i).partition_key or ""),  # type: ignore[union-attr]
        "outbox": lambda i: _of_target(world, session.get(OutboxItem, i).target),  # type: ignore[union-attr]
    }
    if kind in by_id and rest.isdigit():
        return by_id[kind](int(rest))
    return _of_key(session, subject)


def _projects(world: World, rule: str, items: list[dict[str, Any]]) -> list[str | None]:
    with runtime(world.app).transaction() as session:
        deliveries = {p.delivery: p.project for p in (world.gh, world.jira)}
        if rule in ("/api/v1/epics", "/api/v1/iterations"):
            return [_of_key(session, i["key"]) for i in items]
        if rule == "/api/v1/hypotheses":
            return [project_of(i["epic_key"]) for i in items]
        if rule == "/api/v1/checkins":
            return [_of_hypothesis(session, i["hypothesis_id"]) for i in items]
        if rule == "/api/v1/stakeholders":
            return [_of_stakeholder(i["scope"]) for i in items]
        if rule == "/api/v1/tokens":
            return [_of_scope(i["scope"]) for i in items]
        if rule == "/api/v1/outbox":
            return [_of_target(world, i["target"]) for i in items]
        if rule == "/api/v1/deliveries":
            return [deliveries.get(i["id"]) for i in items]
        assert rule == "/api/v1/log", rule
        return [_of_subject(world, session, i["subject"]) for i in items]


# --- the table ---------------------------------------------------------------------------------------------------


def _key(key: str) -> str:
    return quote(key, safe="")


def _assigned(world: World, url: str) -> str:
    """`url`, once the GitHub stakeholder is assigned to the GitHub hypothesis (again), so it can be unassigned."""
    with runtime(world.app).transaction() as session:
        if session.get(HypothesisStakeholder, (world.gh.hypothesis, world.gh.stakeholder)) is None:
            session.add(HypothesisStakeholder(hypothesis_id=world.gh.hypothesis, stakeholder_id=world.gh.stakeholder))
    return url


def _fresh_stakeholder(world: World) -> int:
    with runtime(world.app).transaction() as session:
        person = Stakeholder(name="Someone to erase", group="citizen", scope=[GH])
        session.add(person)
        session.flush()
        return person.id


def _fresh_token(world: World) -> str:
    name = f"to-revoke-{uuid.uuid4().hex[:8]}"
    with runtime(world.app).transaction() as session:
        tokens.create(session, name=name, role="auditor", actor="test", scope=Scope.of([GH]))
    return name


def _dead_outbox(world: World) -> int:
    with runtime(world.app).transaction() as session:
        row = session.get(OutboxItem, world.gh.outbox)
        assert row is not None
        row.status = "dead"
    return world.gh.outbox


@dataclass(frozen=True)
class Route:
    """How to call one route on GitHub objects, and what a permitted token gets in and out of scope."""

    url: Callable[[World], str]
    ok: int | tuple[int, ...] = 200
    out: int = 404  # out of scope; lists answer 200 with the other project's items only
    body: Callable[[World], Any] | None = None
    listed: bool = False  # a list: check that its items are in the token's scope


def _list(path: str) -> Route:
    return Route(lambda w: f"/api/v1/{path}?limit=500", out=200, listed=True)


TABLE: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/log"): _list("log"),
    ("GET", "/api/v1/log/verify"): Route(lambda w: "/api/v1/log/verify", out=200),
    ("GET", "/api/v1/log/<id:seq>/proof"): Route(lambda w: f"/api/v1/log/{w.gh.entry}/proof"),
    # Hashes of tree sizes only, no subject: the same for every scope, like the verify.
    ("GET", "/api/v1/log/consistency"): Route(lambda w: "/api/v1/log/consistency?old=1", out=200),
    ("GET", "/api/v1/deliveries"): _list("deliveries"),
    ("GET", "/api/v1/deliveries/<id:inbox_id>"): Route(lambda w: f"/api/v1/deliveries/{w.gh.delivery}"),
    ("GET", "/api/v1/epics"): _list("epics"),
    ("GET", "/api/v1/epics/<path:key>"): Route(lambda w: f"/api/v1/epics/{_key(w.gh.epic)}"),
    ("GET", "/api/v1/epics/<path:key>/case"): Route(lambda w: f"/api/v1/epics/{_key(w.gh.epic)}/case"),
    ("GET", "/api/v1/epics/<path:key>/hypotheses"): Route(lambda w: f"/api/v1/epics/{_key(w.gh.epic)}/hypotheses"),
    ("POST", "/api/v1/epics/<path:key>/hypotheses"): Route(
        lambda w: f"/api/v1/epics/{_key(w.gh.epic)}/hypotheses", ok=201, body=lambda w: HYPOTHESIS
    ),
    ("GET", "/api/v1/hypotheses"): _list("hypotheses"),
    ("GET", "/api/v1/hypotheses/<id:hypothesis_id>"): Route(lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}"),
    ("PATCH", "/api/v1/hypotheses/<id:hypothesis_id>"): Route(
        lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}", body=lambda w: {"owner": "service-owner"}
    ),
    ("GET", "/api/v1/hypotheses/<id:hypothesis_id>/readings"): Route(
        lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}/readings"
    ),
    ("POST", "/api/v1/hypotheses/<id:hypothesis_id>/readings"): Route(
        lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}/readings",
        ok=201,
        body=lambda w: {"value": 0.15, "date": "2026-11-01", "source": "case system"},
    ),
    ("GET", "/api/v1/hypotheses/<id:hypothesis_id>/stakeholders"): Route(
        lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}/stakeholders"
    ),
    ("POST", "/api/v1/hypotheses/<id:hypothesis_id>/stakeholders"): Route(
        lambda w: f"/api/v1/hypotheses/{w.gh.hypothesis}/stakeholders",
        ok=(200, 201),
        body=lambda w: {"stakeholder_id": w.gh.stakeholder},
    ),
    ("DELETE", "/api/v1/hypotheses/<id:hypothesis_id>/stakeholders"): Route(
        lambda w: _assigned(w, f"/api/v1/hypotheses/{w.gh.hypothesis}/stakeholders"),
        ok=204,
        body=lambda w: {"stakeholder_id": w.gh.stakeholder},
    ),
    ("DELETE", "/api/v1/hypotheses/<id:hypothesis_id>/stakeholders/<id:stakeholder_id>"): Route(
        lambda w: _assigned(w, f"/api/v1/hypotheses/{w.gh.hypothesis}/stakeholders/{w.gh.stakeholder}"), ok=204
    ),
    ("GET", "/api/v1/iterations"): _list("iterations"),
    ("GET", "/api/v1/iterations/<path:key>"): Route(lambda w: f"/api/v1/iterations/{_key(w.gh.iteration)}"),
    ("GET", "/api/v1/iterations/<path:key>/summary"): Route(
        lambda w: f"/api/v1/iterations/{_key(w.gh.iteration)}/summary"
    ),
    ("GET", "/api/v1/checkins"): _list("checkins"),
    ("GET", "/api/v1/checkins/<id:round_id>"): Route(lambda w: f"/api/v1/checkins/{w.gh.round}"),
    ("GET", "/api/v1/checkins/<id:round_id>/answers"): Route(lambda w: f"/api/v1/checkins/{w.gh.round}/answers"),
    ("POST", "/api/v1/checkins/<id:round_id>/answers"): Route(
        lambda w: f"/api/v1/checkins/{w.gh.round}/answers", ok=201, body=lambda w: {"score": 1, "group": "citizen"}
    ),
    ("GET", "/api/v1/stakeholders"): _list("stakeholders"),
    ("POST", "/api/v1/stakeholders"): Route(
        lambda w: "/api/v1/stakeholders",
        ok=201,
        out=403,  # a scoped token adds people only within its own projects
        body=lambda w: {"name": "New resident", "group": "citizen", "scope": [GH]},
    ),
    ("GET", "/api/v1/stakeholders/<id:stakeholder_id>"): Route(lambda w: f"/api/v1/stakeholders/{w.gh.stakeholder}"),
    ("PATCH", "/api/v1/stakeholders/<id:stakeholder_id>"): Route(
        lambda w: f"/api/v1/stakeholders/{w.gh.stakeholder}", body=lambda w: {"name": "Resident, renamed"}
    ),
    ("POST", "/api/v1/stakeholders/<id:stakeholder_id>/erase"): Route(
        lambda w: f"/api/v1/stakeholders/{_fresh_stakeholder(w)}/erase"
    ),
    ("GET", "/api/v1/outbox"): _list("outbox"),
    ("GET", "/api/v1/outbox/<id:item_id>"): Route(lambda w: f"/api/v1/outbox/{w.gh.outbox}"),
    ("POST", "/api/v1/outbox/<id:item_id>/retry"): Route(lambda w: f"/api/v1/outbox/{_dead_outbox(w)}/retry"),
    ("GET", "/api/v1/tokens"): _list("tokens"),
    ("POST", "/api/v1/tokens"): Route(
        lambda w: "/api/v1/tokens",
        ok=201,
        out=403,  # least privilege: a scoped admin cannot hand out a token beyond its own scope
        body=lambda w: {"name": f"new-{uuid.uuid4().hex[:8]}", "role": "team", "scope": [GH], "expires": "30d"},
    ),
    ("DELETE", "/api/v1/tokens/<name>"): Route(lambda w: f"/api/v1/tokens/{_fresh_token(w)}", ok=204),
}


def _api_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_the_table_names_every_api_route(world: World) -> None:
    routes = _api_routes(world.app)
    assert sorted(routes - set(TABLE)) == [], "add these routes to TABLE with what each scope may do"
    assert sorted(set(TABLE) - routes) == [], "these routes are gone: remove them from TABLE"


CASES = [(m, r, role, label) for (m, r) in TABLE for role in ROLES for label in SCOPES]


@pytest.mark.parametrize(("method", "rule", "role", "label"), CASES, ids=[" ".join(c) for c in CASES])
def test_route_by_role_and_scope(world: World, method: str, rule: str, role: str, label: str) -> None:
    route = TABLE[(method, rule)]
    permission = world.app.view_functions[_endpoint(world.app, method, rule)].required_permission
    url = route.url(world)
    body = route.body(world) if route.body else None
    response = world.app.test_client().open(url, method=method, json=body, headers=auth(world.secrets[role, label]))
    if not allows(role, permission):
        assert response.status_code == 403, response.get_data(as_text=True)
        return
    wanted = route.out if label == "out-of-scope" else route.ok
    assert response.status_code in (wanted if isinstance(wanted, tuple) else (wanted,)), response.get_data(as_text=True)
    if response.status_code == 404:  # as for an object that does not exist: nothing about it in the answer
        assert set(response.json) == {"error", "details"}
    if route.listed:
        seen = set(_projects(world, rule, response.json["items"]))
        if label == "unscoped":
            assert {GH, JIRA} <= seen, seen
        else:
            mine = SCOPES[label][0]
            assert seen - {EVERYONE} == {mine}, f"{rule} shows {seen} to a token of {mine}"


def _endpoint(app: Flask, method: str, rule: str) -> str:
    for candidate in app.url_map.iter_rules():
        if candidate.rule == rule and method in (candidate.methods or set()):
            return candidate.endpoint
    raise AssertionError(f"no {method} {rule}")


def test_a_scoped_token_gets_the_same_404_as_for_a_missing_object(world: World) -> None:
    client = world.app.test_client()
    headers = auth(world.secrets["admin", "out-of-scope"])
    hidden = client.get(f"/api/v1/hypotheses/{world.gh.hypothesis}", headers=headers)
    missing = client.get("/api/v1/hypotheses/999999", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["error"] == missing.json["error"].replace("999999", str(world.gh.hypothesis))
    # The iteration summary's 404 lists known iterations to unscoped tokens; never to a scoped one.
    sprint = client.get(f"/api/v1/iterations/{_key('jira:sprint/99')}/summary", headers=headers)
    assert sprint.status_code == 404 and world.jira.iteration not in sprint.json["error"]


def test_a_sprint_is_visible_to_each_project_with_a_ticket_in_it(world: World) -> None:
    with runtime(world.app).transaction() as session:
        scenario.sprint(session, "jira:sprint/40", 3)
        scenario.join(session, world.jira.child, "jira:sprint/40")
    client = world.app.test_client()
    url = f"/api/v1/iterations/{_key('jira:sprint/40')}"
    jira_team, gh_team = auth(world.secrets["team", "out-of-scope"]), auth(world.secrets["team", "in-scope"])
    assert client.get(url, headers=jira_team).status_code == 200
    assert client.get(url, headers=gh_team).status_code == 404
    assert client.get(f"{url}/summary", headers=gh_team).status_code == 404
    with runtime(world.app).transaction() as session:
        scenario.join(session, world.gh.child, "jira:sprint/40")  # one board's sprint across two projects
    assert client.get(url, headers=gh_team).status_code == 200
    # The summary is the whole sprint's, the other project's ticket included.
    summary = client.get(f"{url}/summary", headers=gh_team)
    assert summary.status_code == 200
    with runtime(world.app).transaction() as session:
        session.execute(TicketIteration.__table__.delete().where(TicketIteration.iteration_key == "jira:sprint/40"))


def test_a_scoped_token_cannot_widen_a_stakeholder_beyond_its_scope(world: World) -> None:
    client = world.app.test_client()
    headers = auth(world.secrets["product-owner", "in-scope"])
    url = f"/api/v1/stakeholders/{world.gh.stakeholder}"
    for scope in (None, [], [JIRA], [GH, JIRA]):
        response = client.patch(url, json={"scope": scope}, headers=headers)
        assert response.status_code == 403 and GH in response.json["error"], (scope, response.json)
    assert (
        client.post("/api/v1/stakeholders", json={"name": "x", "group": "citizen"}, headers=headers).status_code == 403
    )
    assert client.patch(url, json={"scope": [GH]}, headers=headers).status_code == 200


def test_a_scoped_admin_manages_only_tokens_within_its_scope(world: World) -> None:
    client = world.app.test_client()
    headers = auth(world.secrets["admin", "in-scope"])
    broad = client.post("/api/v1/tokens", json={"name": "broad", "role": "team"}, headers=headers)
    assert broad.status_code == 403 and "every project" in broad.json["error"]
    listed = {t["name"] for t in client.get("/api/v1/tokens", headers=headers).json["items"]}
    assert "team-in-scope" in listed and "team-unscoped" not in listed and "team-out-of-scope" not in listed
    assert client.delete("/api/v1/tokens/team-unscoped", headers=headers).status_code == 404
    with runtime(world.app).transaction() as session:
        still = session.scalar(select(ApiToken).where(ApiToken.name == "team-unscoped"))
        assert still is not None and still.revoked_at is None


def test_token_routes_take_and_return_scope_and_expiry(world: World) -> None:
    client = world.app.test_client()
    headers = auth(world.secrets["admin", "unscoped"])
    name = f"grafana-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "role": "auditor", "scope": [JIRA, "github:acme"], "expires": "2030-03-31"}
    created = client.post("/api/v1/tokens", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["scope"] == [JIRA, "github:acme"]
    assert created.json["expires_at"] == "2030-04-01T00:00:00+00:00"  # valid through the whole day
    listed = next(t for t in client.get("/api/v1/tokens", headers=headers).json["items"] if t["name"] == name)
    assert listed["scope"] == [JIRA, "github:acme"] and listed["expires_at"] == "2030-04-01T00:00:00+00:00"
    log = client.get(f"/api/v1/log?subject=token:{name}", headers=headers).json["items"]
    assert [e["data"] for e in log] == [
        {"name": name, "role": "auditor", "scope": [JIRA, "github:acme"], "expires_at": "2030-04-01T00:00:00+00:00"}
    ]
    # `github:acme` covers every repository of the owner.
    epics = client.get("/api/v1/epics", headers=auth(created.json["token"])).json["items"]
    assert {e["key"] for e in epics} == {world.gh.epic, world.jira.epic}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("scope", ["acme/portal"], "github:owner/repo"),
        ("scope", ["github:acme/portal#3"], "github:owner/repo"),
        ("expires", "yesterday", "90d"),
        ("expires", "2020-01-01", "in the past"),
        ("expires", "99999d", "days away"),
    ],
)
def test_token_route_says_what_is_wrong_with_scope_or_expiry(world: World, field: str, value: Any, says: str) -> None:
    body = {"name": f"bad-{uuid.uuid4().hex[:6]}", "role": "team", field: value}
    response = world.app.test_client().post(
        "/api/v1/tokens", json=body, headers=auth(world.secrets["admin", "unscoped"])
    )
    assert response.status_code == 422
    assert says in response.json["error"] and response.json["details"][0]["path"] == field


def test_a_stakeholder_of_every_project_names_only_the_hypotheses_in_scope(world: World) -> None:
    with runtime(world.app).transaction() as session:
        person = Stakeholder(name="Panel of every project", group="citizen", scope=[])
        session.add(person)
        session.flush()
        for hypothesis in (world.gh.hypothesis, world.jira.hypothesis):
            session.add(HypothesisStakeholder(hypothesis_id=hypothesis, stakeholder_id=person.id))
    client = world.app.test_client()
    for label, hypothesis in (("in-scope", world.gh.hypothesis), ("out-of-scope", world.jira.hypothesis)):
        shown = client.get(f"/api/v1/stakeholders/{person.id}", headers=auth(world.secrets["team", label]))
        assert shown.status_code == 200 and shown.json["hypotheses"] == [hypothesis]
    everything = client.get(f"/api/v1/stakeholders/{person.id}", headers=auth(world.secrets["team", "unscoped"]))
    assert everything.json["hypotheses"] == [world.gh.hypothesis, world.jira.hypothesis]
