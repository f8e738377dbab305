"""The default pack through the real flow: signed webhook -> inbox -> worker -> pipeline -> rules -> value log + outbox.

Each test sends captured tracker payloads (adjusted where a scenario needs it) through the real endpoint and worker,
and checks each rule's `rule.fired` entry (rule id, pack hash) and the comments or rounds it left.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from rules.loader import BUILTIN_DIR
from service.runtime import runtime
from service.storage.models import CheckinRound, OutboxItem, ValueLogEntry
from service.worker import Worker
from tests import deliveries
from tests.conftest import build_app, make_settings

DEFAULT_HASH = hashlib.sha256((BUILTIN_DIR / "default.yaml").read_bytes()).hexdigest()
GH_EPIC, GH_MILESTONE = "github:city-council/permits#34", "github:city-council/permits/milestone/4"
JIRA_EPIC, JIRA_STORY = "jira:PERM-12", "jira:PERM-14"


@pytest.fixture
def app(tmp_path):
    app = build_app(make_settings(tmp_path, outbound="record"))
    yield app
    runtime(app).engine.dispose()


def send(app: Flask, tracker: str, *payloads: dict[str, Any], event: str = "issues") -> None:
    client = app.test_client()
    worker = Worker(runtime(app))
    for payload in payloads:
        if tracker == "github":
            assert deliveries.github(client, event, payload).status_code == 202
        else:
            assert deliveries.jira(client, payload).status_code == 202
        while worker.run_once():
            pass


def firings(app: Flask, rule: str) -> list[ValueLogEntry]:
    with runtime(app).transaction() as session:
        query = select(ValueLogEntry).where(ValueLogEntry.kind == "rule.fired", ValueLogEntry.actor == f"rule:{rule}")
        found = list(session.scalars(query.order_by(ValueLogEntry.seq)))
    for entry in found:
        assert entry.data["rule"] == rule and entry.data["pack"] == "default.yaml"
        assert entry.data["pack_sha256"] == DEFAULT_HASH
    return found


def comments(app: Flask, target: str, rule: str) -> list[str]:
    with runtime(app).transaction() as session:
        rows = session.scalars(select(OutboxItem).where(OutboxItem.target == target, OutboxItem.action == "comment"))
        return [row.body["text"] for row in rows if (row.cause or "").startswith(f"rule:{rule} delivery:")]


def rounds(app: Flask) -> list[tuple[str, str | None]]:
    with runtime(app).transaction() as session:
        return [(r.kind, r.iteration_key) for r in session.scalars(select(CheckinRound).order_by(CheckinRound.id))]


# --- GitHub: an epic (labelled `epic`) put in a milestone ---------------------------------------------------


def github_epic(with_hypothesis: bool) -> dict[str, Any]:
    payload = copy.deepcopy(deliveries.fixture("github", "issues__opened_epic"))
    if not with_hypothesis:
        payload["issue"]["body"] = "Applicants keep appealing refusals they do not understand."
    return payload


def github_epic_milestoned(epic: dict[str, Any]) -> dict[str, Any]:
    """The real `issues milestoned` delivery, about the epic: milestone 4 (Sprint 38, open) is first seen here."""
    payload = copy.deepcopy(deliveries.fixture("github", "issues__milestoned"))
    for name in ("number", "title", "body", "labels", "html_url", "node_id", "id", "sub_issues_summary"):
        payload["issue"][name] = epic["issue"][name]
    return payload


def test_github_milestone_nudges_an_epic_without_hypothesis_once(app: Flask) -> None:
    epic = github_epic(with_hypothesis=False)
    send(app, "github", epic, github_epic_milestoned(epic))
    [fired] = firings(app, "ex-ante-nudge-at-start")  # the milestone, first seen open, started with the epic in it
    assert fired.subject == GH_MILESTONE
    [text] = comments(app, GH_EPIC, "ex-ante-nudge-at-start")
    assert "Sprint 38 has started with work on this epic" in text
    [joined] = firings(app, "ex-ante-nudge")
    assert joined.data["actions"][0]["already_raised"] == [GH_EPIC]
    assert comments(app, GH_EPIC, "ex-ante-nudge") == []  # one ask per epic and iteration, not two
    assert firings(app, "iteration-checkin-round") == [] and rounds(app) == []


def test_github_milestone_with_a_hypothesis_opens_a_round_and_does_not_nudge(app: Flask) -> None:
    epic = github_epic(with_hypothesis=True)
    send(app, "github", epic, github_epic_milestoned(epic))
    assert firings(app, "ex-ante-nudge") == [] and firings(app, "ex-ante-nudge-at-start") == []
    assert comments(app, GH_EPIC, "ex-ante-nudge") == []
    [fired] = firings(app, "iteration-checkin-round")
    assert rounds(app) == [("iteration", GH_MILESTONE)]
    assert fired.data["actions"][0]["opened"] and fired.data["actions"][0]["scope"] == GH_MILESTONE


def test_github_work_joining_an_open_milestone_gets_its_round(app: Flask) -> None:
    """A milestone opens empty (iteration.started with no work); the round opens when the epic's work joins."""
    milestone = copy.deepcopy(deliveries.fixture("github", "milestone__opened"))
    milestone["milestone"] = copy.deepcopy(deliveries.fixture("github", "issues__milestoned")["milestone"])
    send(app, "github", milestone, event="milestone")
    assert firings(app, "iteration-checkin-round") == []  # nothing in it yet: no empty firing in the log
    epic = github_epic(with_hypothesis=True)
    send(app, "github", epic, github_epic_milestoned(epic))
    assert rounds(app) == [("iteration", GH_MILESTONE)]
    assert len(firings(app, "iteration-checkin-round")) == 1


# --- Jira: a story of an epic in a running sprint; the epic closes ------------------------------------------


def jira_epic(with_hypothesis: bool) -> dict[str, Any]:
    payload = copy.deepcopy(deliveries.fixture("jira", "issue_created__epic"))
    if not with_hypothesis:
        payload["issue"]["fields"]["description"] = "Applicants keep appealing refusals they do not understand."
    return payload


def jira_sprint_with_story(app: Flask, with_hypothesis: bool) -> None:
    sprint = [deliveries.fixture("jira", name) for name in ("sprint_created__minimal", "sprint_started__sprint37")]
    send(app, "jira", *sprint, jira_epic(with_hypothesis), deliveries.fixture("jira", "issue_created__story"))


def test_jira_sprint_nudges_the_epic_of_a_story_without_hypothesis(app: Flask) -> None:
    jira_sprint_with_story(app, with_hypothesis=False)
    [fired] = firings(app, "ex-ante-nudge")
    assert fired.subject == JIRA_STORY and fired.data["event"]["kind"] == "iteration.joined"
    [text] = comments(app, JIRA_EPIC, "ex-ante-nudge")
    assert "Work on this epic joined PERM Sprint 37" in text and "```value-hypothesis" in text


def test_jira_sprint_does_not_nudge_an_epic_with_hypothesis_and_opens_its_round(app: Flask) -> None:
    jira_sprint_with_story(app, with_hypothesis=True)
    assert firings(app, "ex-ante-nudge") == [] and comments(app, JIRA_EPIC, "ex-ante-nudge") == []
    # The sprint started before the story joined: the round opens when the epic's work joins it.
    assert rounds(app) == [("iteration", "jira:sprint/37")]


def test_jira_epic_closed_by_a_status_change_opens_the_ex_post_round(app: Flask) -> None:
    jira_sprint_with_story(app, with_hypothesis=True)
    # The real status change In Progress -> Done, about the epic this time.
    closed = copy.deepcopy(deliveries.fixture("jira", "issue_updated__closed"))
    status = closed["issue"]["fields"]["status"]
    closed["issue"] = copy.deepcopy(jira_epic(with_hypothesis=True)["issue"])
    closed["issue"]["fields"]["status"] = status
    send(app, "jira", closed)
    [fired] = firings(app, "ex-post-round")
    assert fired.subject == JIRA_EPIC and fired.data["event"]["kind"] == "ticket.closed"
    assert ("ex-post", None) in rounds(app)
    [text] = comments(app, JIRA_EPIC, "ex-post-round")
    assert "time to judge its value hypotheses ex post" in text


def test_jira_story_closing_is_not_an_ex_post_round(app: Flask) -> None:
    jira_sprint_with_story(app, with_hypothesis=True)
    send(app, "jira", deliveries.fixture("jira", "issue_updated__closed"))
    assert firings(app, "ex-post-round") == [] and ("ex-post", None) not in rounds(app)


# --- value-risk labels ------------------------------------------------------------------------------------


def test_a_value_risk_label_added_on_github_asks_for_a_mitigation_once(app: Flask) -> None:
    opened = copy.deepcopy(deliveries.fixture("github", "issues__opened"))
    opened["issue"]["labels"] = [label for label in opened["issue"]["labels"] if label["name"] == "value:transparency"]
    labeled = copy.deepcopy(deliveries.fixture("github", "issues__labeled"))
    risk = next(label for label in labeled["issue"]["labels"] if label["name"].startswith("value-risk:"))
    labeled["label"] = risk
    labeled["issue"]["labels"] = [*opened["issue"]["labels"], risk]
    ticket = "github:city-council/permits#35"
    send(app, "github", opened)
    assert firings(app, "value-risk-mitigation") == []  # value:transparency is not a risk
    send(app, "github", labeled)
    [fired] = firings(app, "value-risk-mitigation")
    assert fired.subject == ticket and fired.data["event"]["kind"] == "label.added"
    [text] = comments(app, ticket, "value-risk-mitigation")
    assert "risk to **privacy-security** (`value-risk:privacy-security`)" in text and "watch" in text
    send(app, "github", labeled)  # a redelivery under a new id: already asked
    assert len(comments(app, ticket, "value-risk-mitigation")) == 1


# --- neglected dimensions: three milestones in a row touch only efficiency ---------------------------------------


def sprint_of_efficiency_work(number: int) -> list[tuple[str, dict[str, Any]]]:
    """Milestone `number` opens, the epic (labelled only value:efficiency) is put in it, and the milestone closes."""
    base = deliveries.fixture("github", "milestone__closed")["milestone"]
    day = 2 + 14 * (number - 1)
    milestone = {
        **copy.deepcopy(base),
        "number": number,
        "title": f"Sprint {number}",
        "created_at": f"2026-09-{day:02d}T08:00:00Z" if day < 31 else f"2026-10-{day - 30:02d}T08:00:00Z",
        "updated_at": f"2026-11-{number:02d}T08:00:00Z",
    }
    opened = {
        **copy.deepcopy(deliveries.fixture("github", "milestone__opened")),
        "milestone": {**milestone, "state": "open"},
    }
    epic = github_epic(with_hypothesis=True)
    efficiency = {**epic["issue"]["labels"][1], "name": "value:efficiency"}
    milestoned = github_epic_milestoned(epic)
    milestoned["issue"].update(
        labels=[epic["issue"]["labels"][0], efficiency], milestone={**milestone, "state": "open"}
    )
    milestoned["issue"]["updated_at"] = f"2026-11-{20 + number}T09:00:00Z"  # after the epic was opened
    milestoned["milestone"] = {**milestone, "state": "open"}
    closed = copy.deepcopy(deliveries.fixture("github", "milestone__closed"))
    closed["milestone"] = {**milestone, "state": "closed", "updated_at": f"2026-11-{number:02d}T10:00:00Z"}
    return [("milestone", opened), ("issues", milestoned), ("milestone", closed)]


def test_three_milestones_of_only_efficiency_nudge_the_epic(app: Flask) -> None:
    send(app, "github", github_epic(with_hypothesis=True))
    for number in (1, 2, 3):
        for event, payload in sprint_of_efficiency_work(number):
            send(app, "github", payload, event=event)
        fired = firings(app, "neglected-dimension-nudge")
        assert len(fired) == (1 if number == 3 else 0)
    assert fired[0].subject == "github:city-council/permits/milestone/3"
    [text] = comments(app, GH_EPIC, "neglected-dimension-nudge")
    assert "The last 3 iterations only touched" in text and "**efficiency**" in text


# --- The sprint value summary at iteration close ---------------------------------------------------------------


def test_jira_sprint_close_posts_the_summary_once_on_the_epic_and_the_report_ticket(tmp_path) -> None:
    app = build_app(make_settings(tmp_path / "report", outbound="record", report_issues=("jira:PERM-1",)))
    try:
        story = copy.deepcopy(deliveries.fixture("jira", "issue_created__story"))
        story["issue"]["fields"]["customfield_10016"] = 5  # Jira Cloud's "Story point estimate"
        sprint = [deliveries.fixture("jira", name) for name in ("sprint_created__minimal", "sprint_started__sprint37")]
        send(app, "jira", *sprint, jira_epic(True), story)
        closed = deliveries.fixture("jira", "sprint_closed__sprint37")
        again = copy.deepcopy(closed)
        again["timestamp"] += 60_000  # the same close delivered again a minute later (a new delivery)
        send(app, "jira", closed, again)

        [text] = comments(app, JIRA_EPIC, "iteration-summary")
        assert text.startswith("## Sprint value summary: PERM Sprint 37")
        assert "1 ticket(s), 0 done, 5 story point(s) (0 done)" in text
        assert "value:transparancy" not in text and "Transparency" in text
        [report] = comments(app, "jira:PERM-1", "iteration-summary")
        assert report == text
        # The second close changes nothing (the sprint is closed already): no second event, no second comment.
        assert len(firings(app, "iteration-summary")) == 1
    finally:
        runtime(app).engine.dispose()
