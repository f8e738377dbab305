"""`/value` comments: the syntax, and one reply per comment that cannot count, saying why and how."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from service.checkins.comments import Command, CommandInvalid, find_command, parse_command
from service.runtime import runtime
from service.storage.models import CheckinAnswer, CheckinRound, Hypothesis, OutboxItem
from tests import deliveries
from tests.conftest import auth, token_for
from tests.service.checkins.test_rounds import DEV_ACCOUNT, sent


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ('/value +1 accessibility-inclusion "flow done"', Command("+1", "accessibility-inclusion", "flow done")),
        ("/value -2", Command("-2")),
        ("Looks good.\n/value 0 h7", Command("0", hypothesis=7)),
        ("/VALUE 2 \u201cit works on my phone\u201d", Command("2", text="it works on my phone")),
        ("> /value 1 transparency hypothesis:12", Command("1", "transparency", hypothesis=12)),
    ],
)  # fmt: skip
def test_the_syntax(body: str, command: Command) -> None:
    arguments = find_command(body)
    assert arguments is not None and parse_command(arguments) == command


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ("", "start with a score"),
        ("great", "start with a score"),
        ('1 "open', "not closed"),
        ("1 a b c", "one word too many"),
    ],
)
def test_what_does_not_parse(arguments: str, says: str) -> None:
    with pytest.raises(CommandInvalid, match=says):
        parse_command(arguments)


def test_no_command_is_a_plain_comment() -> None:
    assert find_command("the values here are fine") is None and find_command("see /values page") is None


def comment(body: str, comment_id: str = "10042") -> dict:
    payload = copy.deepcopy(deliveries.fixture("jira", "comment_created__value_answer"))
    payload["comment"].update(body=body, id=comment_id)
    return payload


def replies(app) -> list[str]:
    with runtime(app).transaction() as session:
        rows = session.scalars(select(OutboxItem).where(OutboxItem.cause.like("comment:%")).order_by(OutboxItem.id))
        return [row.body["text"] for row in rows]


@pytest.fixture
def developer(app):
    sent(app, "sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", "issue_created__story")
    headers = auth(token_for(app, "product-owner"))
    app.test_client().post(
        "/api/v1/stakeholders", json={"name": "Ana", "group": "it-developer", "jira": DEV_ACCOUNT}, headers=headers
    )
    return app


def test_a_known_stakeholders_answer_counts_once_however_often_jira_sends_it(developer) -> None:
    payload = comment('/value -1 accessibility-inclusion "the screen reader skips the form"')
    for _ in range(2):  # Jira sends a comment with the issue update and as comment_created: two deliveries
        assert deliveries.jira(developer.test_client(), payload).status_code == 202
    deliveries.drain(developer)
    with runtime(developer).transaction() as session:
        (answer,) = session.scalars(select(CheckinAnswer))
        assert (answer.score, answer.dimension, answer.group, answer.channel) == (
            -1,
            "accessibility-inclusion",
            "it-developer",
            "jira",
        )
    assert replies(developer) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("/value +5", "a score is a whole number from -2"),
        ("/value +1 transparancy", "did you mean 'transparency'"),
        ('/value "nice"', "it must start with a score"),
    ],
)
def test_an_answer_that_cannot_be_read_gets_one_reply_with_the_syntax(developer, body, says) -> None:
    for _ in range(2):
        deliveries.jira(developer.test_client(), comment(body))
    deliveries.drain(developer)
    (reply,) = replies(developer)
    assert says in reply and "/value <score from -2 to +2>" in reply and "e.g. `/value +1" in reply
    with runtime(developer).transaction() as session:
        assert session.scalars(select(CheckinAnswer)).first() is None


def test_someone_who_is_not_a_stakeholder_is_told_how_to_be_added(app) -> None:
    sent(app, "sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", "issue_created__story")
    deliveries.jira(app.test_client(), comment("/value +1"))
    deliveries.drain(app)
    (reply,) = replies(app)
    assert "not counted" in reply and "Jira account id" in reply


def test_with_several_rounds_open_the_reply_asks_which(developer) -> None:
    with runtime(developer).transaction() as session:
        first = session.get(Hypothesis, 1)
        second = Hypothesis(epic_key=first.epic_key, statement="We believe a second thing", dimensions=["efficiency"])
        session.add(second)
        session.flush()
        session.add(CheckinRound(hypothesis_id=second.id, iteration_key="jira:sprint/37", unique_key="x:2"))
    deliveries.jira(developer.test_client(), comment("/value +1", comment_id="1"))
    deliveries.drain(developer)
    (reply,) = replies(developer)
    assert "Several hypotheses" in reply and "h1, h2" in reply
    deliveries.jira(developer.test_client(), comment("/value +1 h2", comment_id="2"))
    deliveries.drain(developer)
    with runtime(developer).transaction() as session:
        (answer,) = session.scalars(select(CheckinAnswer))
        assert session.get(CheckinRound, answer.round_id).hypothesis_id == 2
