"""A whole check-in round with time under the test's control: opened by a starting sprint, everyone asked through
their channel, reminded once, answered from the API, a `/value` comment and a link, closed at the deadline with its
response rate, and the co-destruction and divergence rules firing from real answers. And every unit of work exactly
once, with two clocks at once on PostgreSQL and after a clock that died mid-round."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from service.checkins import links, rounds
from service.runtime import Runtime, runtime
from service.storage.engine import make_engine, make_session_factory
from service.storage.models import CheckinAnswer, CheckinPrompt, CheckinRound, OutboxItem, ValueLogEntry
from tests import deliveries
from tests.conftest import auth, token_for

DEV_ACCOUNT = "712020:0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"  # the author of the real `/value` comment fixture
PEOPLE = [
    {"name": "Ana Developer", "group": "it-developer", "jira": DEV_ACCOUNT, "email": "ana@city.example"},
    {"name": "Carla Citizen", "group": "citizen", "email": "carla@mail.example"},
    {"name": "Sam Servant", "group": "civil-servant", "webhook_url": "https://93.184.216.34/teams-relay"},
    {"name": "Uli User", "group": "user"},
]


def sent(app: Flask, *names: str) -> None:
    for name in names:
        assert deliveries.jira(app.test_client(), deliveries.fixture("jira", name)).status_code == 202
    deliveries.drain(app)


def kinds(app: Flask, *wanted: str) -> list[tuple[str, dict[str, Any]]]:
    with runtime(app).transaction() as session:
        rows = session.scalars(select(ValueLogEntry).where(ValueLogEntry.kind.in_(wanted)).order_by(ValueLogEntry.seq))
        return [(row.kind, row.data) for row in rows]


@pytest.fixture
def sprint_with_a_round(any_app: Flask) -> tuple[Flask, dict[str, str], list[int]]:
    """Sprint 37 running with the epic's story in it: the default pack opened a round for its hypothesis."""
    sent(any_app, "sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", "issue_created__story")
    headers = auth(token_for(any_app, "product-owner"))
    client = any_app.test_client()
    ids = []
    for person in PEOPLE:
        created = client.post("/api/v1/stakeholders", json=person, headers=headers)
        assert created.status_code == 201, created.json
        ids.append(created.json["id"])
        assigned = client.post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": ids[-1]}, headers=headers)
        assert assigned.status_code == 201
    with runtime(any_app).transaction() as session:
        (round_,) = session.scalars(select(CheckinRound))
        assert (round_.status, round_.iteration_key) == ("open", "jira:sprint/37")
    return any_app, headers, ids


def test_a_whole_round(sprint_with_a_round) -> None:
    app, headers, (dev, citizen, servant, user) = sprint_with_a_round
    rt = runtime(app)
    with rt.transaction() as session:
        round_ = session.scalars(select(CheckinRound)).one()
        opened, remind_at, deadline = round_.opened_at, round_.remind_at, round_.deadline
    assert remind_at == opened + (deadline - opened) / 2  # the default pack's 10 days: reminded after 5

    # The clock asks everyone, each through their channel: one Jira comment mentioning the developer, an e-mail,
    # a webhook, and a link the product owner hands over.
    tally = rounds.run_due(rt, now=opened + timedelta(minutes=1))
    assert (tally.prompted, tally.unreachable) == (4, 0)
    with rt.transaction() as session:
        prompts = {p.stakeholder_id: p for p in session.scalars(select(CheckinPrompt))}
        assert {sid: p.channel for sid, p in prompts.items()} == {
            dev: "tracker", citizen: "email", servant: "webhook", user: "link",
        }  # fmt: skip
        outbox = {
            row.id: row for row in session.scalars(select(OutboxItem).where(OutboxItem.cause == "checkin-round:1"))
        }
        comment = outbox[prompts[dev].outbox_id]
        assert (comment.tracker, comment.action, comment.target) == ("jira", "comment", "jira:PERM-12")
        assert f"[~accountid:{DEV_ACCOUNT}]" in comment.body["text"] and "/value" in comment.body["text"]
        assert "We believe publishing the refusal rules" in comment.body["text"]
        mail, hook = outbox[prompts[citizen].outbox_id], outbox[prompts[servant].outbox_id]
        assert (mail.tracker, mail.action, mail.body) == ("email", "checkin_prompt", {"prompt": prompts[citizen].id})
        assert (hook.tracker, hook.target) == ("webhook", f"prompt:{prompts[servant].id}")
        assert prompts[user].outbox_id is None and prompts[user].sent_at is not None
    prompted = kinds(app, "checkin.prompted")
    assert len(prompted) == 4 and all(
        data["contact"] is None or data["contact"].startswith("hmac-sha256:") for _, data in prompted
    )
    assert "carla@mail.example" not in str(prompted)

    # Nothing is asked twice, however often the clock ticks.
    assert rounds.run_due(rt, now=opened + timedelta(minutes=2)).work == 0

    # The developer answers with a real Jira comment; the citizen through the API; the link-only user through the
    # form behind the link the product owner handed over.
    sent(app, "comment_created__value_answer")
    client = app.test_client()
    api = client.post(
        "/api/v1/checkins/1/answers",
        json={
            "stakeholder_id": citizen,
            "score": -2,
            "text": "I could not find the form any more",
            "worse_off": "people without a smartphone",
        },
        headers=auth(token_for(app, "team")),
    )  # fmt: skip
    assert api.status_code == 201 and api.json["group"] == "citizen"
    with rt.transaction() as session:
        path = urlsplit(links.url(rt.settings, session.get(CheckinPrompt, prompts[user].id))).path
    form = client.get(path)
    assert form.status_code == 200 and "We believe publishing the refusal rules" in form.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.get_data(as_text=True))
    assert token is not None
    sent_form = client.post(path, data={"csrf_token": token.group(1), "score": "1", "confidence": "high"})
    assert sent_form.status_code == 303
    assert client.get(path).status_code == 410  # the link answers once

    with rt.transaction() as session:
        scores = {(a.group, a.score, a.channel) for a in session.scalars(select(CheckinAnswer))}
    assert scores == {("it-developer", 1, "jira"), ("citizen", -2, "api"), ("user", 1, "link")}
    fired = [data["rule"] for _, data in kinds(app, "rule.fired")]
    assert "co-destruction-alert" in fired  # the citizens' mean is -2
    assert "divergence-alert" in fired  # -2 against +1: three points apart

    # Reminders, once, to those asked who have not answered and can be reached again: the civil servant's webhook.
    tally = rounds.run_due(rt, now=remind_at + timedelta(minutes=1))
    assert tally.reminded == 1
    with rt.transaction() as session:
        reminded = session.scalars(select(CheckinPrompt).where(CheckinPrompt.reminded_at.is_not(None))).all()
        assert [p.stakeholder_id for p in reminded] == [servant]
        reminder = session.get(OutboxItem, reminded[0].reminder_outbox_id)
        assert (reminder.tracker, reminder.action) == ("webhook", "checkin_reminder")
    assert rounds.run_due(rt, now=remind_at + timedelta(hours=1)).reminded == 0

    # At the deadline the round closes with its response rate: 3 of the 4 asked answered.
    tally = rounds.run_due(rt, now=deadline + timedelta(minutes=1))
    assert tally.closed == 1
    with rt.transaction() as session:
        round_ = session.get(CheckinRound, 1)
        assert (round_.status, round_.response_rate) == ("closed", 0.75)
    ((_, closed),) = kinds(app, "checkin.closed")
    assert (closed["asked"], closed["answered"], closed["response_rate"]) == (4, 3, 0.75)
    assert rounds.run_due(rt, now=deadline + timedelta(hours=1)).work == 0

    # An answer after the close still counts, marked late.
    late = client.post("/api/v1/checkins/1/answers", json={"group": "user", "score": 0}, headers=headers)
    assert late.status_code == 201 and late.json["late"] is True


def test_an_answer_replaces_the_same_persons_earlier_one_in_the_figures(sprint_with_a_round) -> None:
    app, headers, (_dev, citizen, *_rest) = sprint_with_a_round
    assert rounds.run_due(runtime(app), now=datetime.now(UTC) + timedelta(minutes=1)).prompted == 4
    client = app.test_client()
    for score in (-2, 1):
        assert (
            client.post(
                "/api/v1/checkins/1/answers", json={"stakeholder_id": citizen, "score": score}, headers=headers
            ).status_code
            == 201
        )
    current = client.get("/api/v1/checkins/1", headers=headers).json["answers"]
    assert [(a["stakeholder_id"], a["score"]) for a in current] == [(citizen, 1)]
    every = client.get("/api/v1/checkins/1/answers", headers=headers).json["items"]
    assert [(a["score"], a["current"]) for a in every] == [(-2, False), (1, True)]
    logged = [data for _, data in kinds(app, "checkin.answered")]
    assert len(logged) == 2  # both stay in the log
    assert logged[1]["replaces"] == [every[0]["id"]]
    # The person's prompt was marked answered by the first answer, at that answer's time, and stays so.
    with runtime(app).transaction() as session:
        prompt = session.scalars(select(CheckinPrompt).where(CheckinPrompt.stakeholder_id == citizen)).one()
        answers = session.scalars(select(CheckinAnswer).order_by(CheckinAnswer.id)).all()
    assert [answer.prompt_id for answer in answers] == [prompt.id, prompt.id]
    assert prompt.answered_at == answers[0].created_at


def test_no_prompts_while_the_iteration_does_not_run(sprint_with_a_round) -> None:
    app, _, _ = sprint_with_a_round
    sent(app, "sprint_closed__sprint37")
    rt = runtime(app)
    assert rounds.run_due(rt, now=datetime.now(UTC) + timedelta(minutes=1)).prompted == 0


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"group": "citizen", "score": 3}, 422, "from -2"),
        ({"group": "citizen", "score": 1.5}, 422, "from -2"),
        ({"group": "citizen", "score": 1, "dimension": "transparancy"}, 422, "did you mean 'transparency'"),
        ({"group": "citizen", "score": 1, "evidence_url": "javascript:alert(1)"}, 422, "http(s)"),
        ({"group": "citzen", "score": 1}, 422, "did you mean 'citizen'"),
        ({"score": 1}, 422, "stakeholder_id"),
        ({"stakeholder_id": 99999, "score": 1}, 404, "no stakeholder 99999"),
    ],
)
def test_bad_answers_say_what_is_wrong(sprint_with_a_round, body, status, says) -> None:
    app, headers, _ = sprint_with_a_round
    answer = app.test_client().post("/api/v1/checkins/1/answers", json=body, headers=headers)
    assert answer.status_code == status and says in str(answer.json)


def test_auditors_see_statuses_and_scores_but_no_names_or_texts(sprint_with_a_round) -> None:
    app, headers, (_, citizen, *_rest) = sprint_with_a_round
    rounds.run_due(runtime(app), now=datetime.now(UTC) + timedelta(minutes=1))
    client = app.test_client()
    client.post(
        "/api/v1/checkins/1/answers",
        json={"stakeholder_id": citizen, "score": -1, "text": "lost my place"},
        headers=headers,
    )
    audited = client.get("/api/v1/checkins/1", headers=auth(token_for(app, "auditor"))).json
    assert {p["channel"] for p in audited["prompts"]} == {"tracker", "email", "webhook", "link"}
    assert all("name" not in p for p in audited["prompts"]) and "text" not in audited["answers"][0]
    assert "lost my place" not in str(audited) and "Carla" not in str(audited)
    seen = client.get("/api/v1/checkins/1", headers=headers).json
    assert seen["answers"][0]["text"] == "lost my place" and {p["name"] for p in seen["prompts"]} >= {"Carla Citizen"}
    assert [
        r["id"] for r in client.get("/api/v1/checkins?status=open&hypothesis=1", headers=headers).json["items"]
    ] == [1]


def _second_runtime(app: Flask) -> Runtime:
    settings = runtime(app).settings
    engine = make_engine(settings)
    return Runtime(settings, engine, make_session_factory(engine))


@pytest.mark.postgres
def test_two_clocks_and_a_clock_that_died_mid_round_ask_remind_and_close_exactly_once(
    tmp_path, postgres_url, monkeypatch
) -> None:
    from tests.conftest import build_app, make_settings

    app = build_app(make_settings(tmp_path, postgres_url))
    sent(app, "sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", "issue_created__story")
    headers = auth(token_for(app, "product-owner"))
    for person in PEOPLE:
        created = app.test_client().post("/api/v1/stakeholders", json=person, headers=headers).json["id"]
        app.test_client().post("/api/v1/hypotheses/1/stakeholders", json={"stakeholder_id": created}, headers=headers)
    with runtime(app).transaction() as session:
        round_ = session.scalars(select(CheckinRound)).one()
        opened, remind_at, deadline = round_.opened_at, round_.remind_at, round_.deadline

    # A clock dies mid-round, after claiming the prompts' keys and writing the rows, before the log entries: its
    # transaction rolls back with the keys, so nothing is lost and nothing is half-done.
    def dies(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("killed")

    monkeypatch.setattr(rounds.valuelog, "append_many", dies)
    assert rounds.run_due(runtime(app), now=opened + timedelta(minutes=1)).prompted == 0
    monkeypatch.undo()
    with runtime(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(CheckinPrompt)) == 0

    clocks = [runtime(app), _second_runtime(app)]
    for moment in (opened + timedelta(minutes=2), remind_at + timedelta(minutes=1), deadline + timedelta(minutes=1)):
        barrier = threading.Barrier(len(clocks))
        done: list[rounds.Tally] = []

        def tick(
            rt: Runtime, at: datetime = moment, start: threading.Barrier = barrier, out: list[rounds.Tally] = done
        ) -> None:
            start.wait()
            out.append(rounds.run_due(rt, now=at))

        threads = [threading.Thread(target=tick, args=(rt,)) for rt in clocks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(done) == 2
    with runtime(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(CheckinPrompt)) == 4
        reminded = select(func.count()).select_from(CheckinPrompt).where(CheckinPrompt.reminded_at.is_not(None))
        assert session.scalar(reminded) == 3  # all but the link-only person: nobody answered
        assert session.get(CheckinRound, 1).status == "closed"
        comments = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.action == "comment", OutboxItem.cause == "checkin-round:1")
        )
    assert comments == 2  # one prompt comment and one reminder comment, for the developer
    assert [kind for kind, _ in kinds(app, "checkin.prompted", "checkin.reminded", "checkin.closed")].count(
        "checkin.prompted"
    ) == 4
    assert len(kinds(app, "checkin.reminded")) == 3 and len(kinds(app, "checkin.closed")) == 1
    clocks[1].engine.dispose()
