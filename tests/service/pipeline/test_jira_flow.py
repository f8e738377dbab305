"""A Jira project's life through the real endpoint and worker: sprints, epics via parent and Epic Link, labels."""

from __future__ import annotations

from sqlalchemy import select

from service.runtime import runtime
from service.storage.models import Epic, Iteration, Ticket, TicketIteration
from tests import deliveries
from tests.service.pipeline.test_github_flow import head, labels_of, log_entries

STORY = "jira:PERM-14"
S37, S38 = "jira:sprint/37", "jira:sprint/38"


def send(app, name: str) -> None:
    response = deliveries.jira(app.test_client(), deliveries.fixture("jira", name))
    assert response.status_code == 202, response.json
    deliveries.drain(app)


def in_sprints(app) -> set[str]:
    with runtime(app).transaction() as session:
        links = session.scalars(
            select(TicketIteration).where(TicketIteration.ticket_key == STORY, TicketIteration.left_at.is_(None))
        )
        return {link.iteration_key for link in links}


def test_sprint_epic_and_story(any_app) -> None:
    send(any_app, "sprint_created__minimal")
    send(any_app, "sprint_started__sprint37")
    send(any_app, "issue_created__epic")
    send(any_app, "issue_created__story")
    with runtime(any_app).transaction() as session:
        sprint = session.get(Iteration, S37)
        assert (sprint.state, sprint.goal) == ("active", "Publish the refusal rules")
        assert sprint.board == "7"  # originBoardId: "in a row" follows one board, sprint ids are site-wide
        assert session.get(Ticket, STORY).epic_key == "jira:PERM-12"
        assert session.get(Epic, "jira:PERM-12") is not None
    assert in_sprints(any_app) == {S37}
    story = [kind for kind, subject, _ in log_entries(any_app) if subject == STORY]
    assert story == ["ticket.created", "label.added", "label.unknown", "label.added", "epic.linked", "iteration.joined"]
    assert [kind for kind, subject, _ in log_entries(any_app) if subject == S37] == [
        "iteration.created",
        "iteration.started",
    ]


def test_labels_from_changelog_strings(app) -> None:
    send(app, "issue_created__story")
    mark = head(app)
    send(app, "issue_updated__labels")
    changes = [(kind, data["label"]) for kind, _, data in log_entries(app, mark)]
    assert changes == [("label.added", "value/a11y"), ("label.removed", "value-risk:privacy-security")]
    assert labels_of(app, STORY)["value/a11y"] == ("accessibility-inclusion", "value")


def test_sprint_membership_changes(app) -> None:
    send(app, "issue_created__story")
    send(app, "issue_updated__sprint")
    assert in_sprints(app) == {S37, S38}
    send(app, "issue_updated__sprint_removed")
    assert in_sprints(app) == {S38}
    send(app, "issue_updated__sprint_other_field_id")
    assert in_sprints(app) == {S38, "jira:sprint/41"}
    with runtime(app).transaction() as session:
        assert session.get(Iteration, "jira:sprint/41").name == "Board B Sprint 41"


def test_parent_and_legacy_epic_link(app) -> None:
    send(app, "issue_created__story")
    send(app, "issue_updated__parent")
    with runtime(app).transaction() as session:
        assert session.get(Ticket, STORY).epic_key == "jira:PERM-20"
        stub = session.get(Ticket, "jira:PERM-20")
        assert stub.is_epic and stub.title == "Plain-language letters"
    epic_log = [(kind, data["epic"]) for kind, _, data in log_entries(app) if kind in ("epic.linked", "epic.unlinked")]
    assert epic_log == [
        ("epic.linked", "jira:PERM-12"),
        ("epic.unlinked", "jira:PERM-12"),
        ("epic.linked", "jira:PERM-20"),
    ]
    mark = head(app)
    send(app, "issue_updated__epic_link")  # says the same (PERM-12 -> PERM-20): nothing new
    assert [kind for kind, _, _ in log_entries(app, mark) if kind.startswith("epic.")] == []


def test_closed_reopened_deleted_and_sprint_closed(app) -> None:
    send(app, "issue_created__story")
    mark = head(app)
    for name in ("issue_updated__closed", "issue_updated__reopened", "issue_deleted__story", "sprint_closed__sprint37"):
        send(app, name)
    assert [kind for kind, _, _ in log_entries(app, mark)] == [
        "ticket.closed",
        "ticket.reopened",
        "ticket.deleted",
        "iteration.closed",
    ]


def test_server_sprint_strings_join_the_sprint(app) -> None:
    send(app, "issue_created__server_sprint_strings")
    assert in_sprints(app) == {S37}


def test_older_sprint_event_does_not_reopen_a_closed_sprint(app) -> None:
    send(app, "sprint_closed__sprint37")
    send(app, "sprint_started__sprint37")  # delayed retry of an earlier event
    with runtime(app).transaction() as session:
        assert session.get(Iteration, S37).state == "closed"
    assert [kind for kind, _, _ in log_entries(app)] == ["iteration.created", "iteration.closed"]


def test_epic_closing_moves_it_ex_post(app) -> None:
    send(app, "issue_created__epic")
    closed = deliveries.fixture("jira", "issue_created__epic")
    closed["webhookEvent"], closed["timestamp"] = "jira:issue_updated", closed["timestamp"] + 1000
    closed["issue"]["fields"]["status"]["statusCategory"]["key"] = "done"
    assert deliveries.jira(app.test_client(), closed).status_code == 202
    deliveries.drain(app)
    with runtime(app).transaction() as session:
        assert session.get(Epic, "jira:PERM-12").phase == "ex-post"


def test_a_story_in_a_running_sprint_linked_to_an_epic_starts_the_epics_work(app) -> None:
    """However the tracker orders it: here the legacy Epic Link arrives after the story joined the sprint."""
    send(app, "sprint_created__minimal")
    send(app, "sprint_started__sprint37")
    send(app, "issue_created__story")  # in sprint 37, child of PERM-12: PERM-12's work has started
    send(app, "issue_updated__epic_link")  # PERM-12 -> PERM-20 by the legacy Epic Link, the story still in sprint
    with runtime(app).transaction() as session:
        assert session.get(Epic, "jira:PERM-12").phase == "during"
        assert session.get(Epic, "jira:PERM-20").phase == "during"
    moves = [(subject, data["iteration"]) for kind, subject, data in log_entries(app) if kind == "epic.phase_changed"]
    assert moves == [("jira:PERM-12", S37), ("jira:PERM-20", S37)]
