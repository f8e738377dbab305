"""Every Jira payload we have, signed through /webhooks/jira and the worker: own fixtures and Zulip's captured
deliveries. Each ends processed, or ignored with its reason; the ones that matter leave the expected state and
value-log kinds. Jira names the event in the body (`webhookEvent`), so a body without it is refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.integrations import flow

CASES = flow.own("jira") + flow.zulip("jira")
BY_ID = {case.id: case for case in CASES}

# Refused at intake with a 400 that says what is wrong (DESIGN.md: the event name missing, or a field of the wrong
# type); nothing is stored.
REFUSED = {
    # Not a Jira event (Zulip's negative test): without `webhookEvent` there is no event to name.
    "zulip/example_anomalous_payload": (
        "the body has no `webhookEvent` field; Jira names the event there. Is this a Jira webhook delivery?"
    ),
    # A deliberately malformed own fixture: a label that is an object where Jira sends strings.
    "own/issue_created__malformed_labels": (
        "the payload is malformed: $.issue.fields.labels[0] should be a string, found an object"
    ),
}

EPIC, STORY, OTHER_EPIC = "jira:PERM-12", "jira:PERM-14", "jira:PERM-20"
S37, S38 = "jira:sprint/37", "jira:sprint/38"
STORY_LABELS = ["value-risk:privacy-security", "value:transparancy", "value:transparency"]
# The story first seen: its value labels (one misspelt), its epic (from fields.parent), sprint 37 (running).
STORY_FIRST_SEEN = ["label.added", "label.unknown", "label.added", "epic.linked"]
IN_SPRINT_37 = ["iteration.created", "iteration.started", "iteration.joined"]

EXPECTED: dict[str, dict[str, Any]] = {
    "own/issue_created__story": {
        "tickets": {EPIC: "open", STORY: "open"},
        "labels": {STORY: STORY_LABELS},
        "epics": {EPIC: [STORY]},
        "iterations": {S37: "active"},
        "memberships": {(STORY, S37): "in"},
        # The epic, known by reference only, has work in a running sprint: ex-ante -> during.
        "log": ["ticket.created", *STORY_FIRST_SEEN, *IN_SPRINT_37, "epic.phase_changed"],
    },
    # Jira Server writes the Sprint field as strings; the same state as Cloud's objects.
    "own/issue_created__server_sprint_strings": {
        "iterations": {S37: "active"},
        "memberships": {(STORY, S37): "in"},
    },
    "own/issue_created__epic": {
        "tickets": {EPIC: "open"},
        "epics": {EPIC: []},
        "log": ["ticket.created", "label.added", "hypothesis.created"],  # its description holds a hypothesis block
    },
    "own/issue_updated__closed": {
        "tickets": {EPIC: "open", STORY: "closed"},
        "log": ["ticket.created", "ticket.closed", *STORY_FIRST_SEEN, *IN_SPRINT_37, "epic.phase_changed"],
    },
    "own/issue_updated__labels": {"labels": {STORY: ["value/a11y", "value:transparancy", "value:transparency"]}},
    "own/issue_updated__parent": {"epics": {OTHER_EPIC: [STORY]}},
    # The legacy Epic Link arrives as a changelog item only (no fields.parent).
    "own/issue_updated__epic_link": {"epics": {OTHER_EPIC: [STORY]}},
    "own/issue_updated__sprint": {
        "iterations": {S37: "active", S38: "future"},
        "memberships": {(STORY, S37): "in", (STORY, S38): "in"},
    },
    # The Sprint field under another custom-field id is still found, by the shape of its value.
    "own/issue_updated__sprint_other_field_id": {
        "iterations": {"jira:sprint/41": "future"},
        "memberships": {(STORY, "jira:sprint/41"): "in"},
    },
    "own/issue_deleted__story": {"tickets": {STORY: "deleted"}, "log": ["ticket.created", "ticket.deleted"]},
    # A `/value` answer from someone who is not a stakeholder: not counted, logged, one reply saying how to be added.
    "own/comment_created__value_answer": {**flow.NOTHING, "log": ["checkin.refused"]},
    "own/sprint_created__minimal": {"iterations": {S37: "future"}, "log": ["iteration.created"]},
    "own/sprint_started__sprint37": {"iterations": {S37: "active"}, "log": ["iteration.created", "iteration.started"]},
    "own/sprint_closed__sprint37": {"iterations": {S37: "closed"}, "log": ["iteration.created", "iteration.closed"]},
    "own/sprint_deleted__sprint37": {"iterations": {S37: "deleted"}, "log": ["iteration.created", "iteration.deleted"]},
    "zulip/created_v2": {"tickets": {"jira:BUG-15": "open"}, "log": ["ticket.created"]},
    "zulip/issue_created": {"tickets": {"jira:BUG-15": "open"}, "labels": {}, "log": ["ticket.created"]},
    "zulip/issue_created_with_additional_fields": {
        "labels": {"jira:BUG-15": ["customer-reported", "regression"]},
        "log": ["ticket.created"],  # not value labels
    },
    "zulip/issue_created_with_custom_fields": {"tickets": {"jira:KAN-3": "open"}, "iterations": {}},
    "zulip/issue_created_with_unicode": {"tickets": {"jira:BUG-15": "open"}},
    "zulip/issue_created_without_list_fields": {"tickets": {"jira:BUG-15": "open"}, "labels": {}},
    "zulip/issue_deleted": {"tickets": {"jira:BUG-15": "deleted"}, "log": ["ticket.created", "ticket.deleted"]},
    # "In Progress" is in the status category `indeterminate`: open.
    "zulip/issue_updated__status": {"tickets": {"jira:TEST-1": "open"}, "log": ["ticket.created"]},
    "zulip/commented_v2": {"tickets": {"jira:BUG-15": "open"}, "log": ["ticket.created"]},
    "zulip/comment_created": flow.NOTHING,
    "zulip/comment_created_no_issue_details": {"ignored": "Jira left out which ticket it belongs to"},
    "zulip/comment_updated": {"ignored": "edits would rewrite history"},
    "zulip/unknown_v2": {"ignored": "jira:issue_unknown: not an event this service uses"},
    "zulip/worklog_created": {"ignored": "time tracking carries no value state"},
    "zulip/attachment_created": {"ignored": "attachments carry no value state"},
}


def test_the_collections_are_all_here() -> None:
    """The count of Zulip's collection (its README), so a lost file cannot shrink the test silently."""
    assert sum(case.id.startswith("zulip/") for case in CASES) == 22
    assert sum(case.id.startswith("own/") for case in CASES) >= 20
    assert set(REFUSED) | set(EXPECTED) <= set(BY_ID)  # a misspelt name would check nothing


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_payload_ends_processed_or_ignored(fresh_app: Flask, case: flow.Case) -> None:
    flow.check(fresh_app, "jira", case, EXPECTED, REFUSED)


def _send(app: Flask, *ids: str) -> None:
    flow.send_all(app, "jira", [BY_ID[case_id] for case_id in ids])


def test_a_story_moves_between_sprints_and_its_epic_starts(fresh_app: Flask) -> None:
    _send(
        fresh_app,
        "own/issue_created__epic",
        "own/issue_created__story",
        "own/issue_updated__sprint",
        "own/issue_updated__sprint_removed",
    )
    state = flow.state(fresh_app, "jira")
    assert state["epics"] == {EPIC: [STORY]}
    assert state["memberships"] == {(STORY, S37): "left", (STORY, S38): "in"}
    assert state["log"] == [
        "ticket.created",  # the epic ...
        "label.added",
        "hypothesis.created",  # ... with its hypothesis block
        "ticket.created",  # the story
        *STORY_FIRST_SEEN,
        *IN_SPRINT_37,
        "epic.phase_changed",  # the epic's work is in a running sprint: ex-ante -> during ...
        "hypothesis.updated",  # ... and so is its hypothesis
        "iteration.created",
        "iteration.joined",  # sprint 38 too
        "iteration.left",  # then out of 37
    ]


def test_an_older_update_arriving_late_is_recorded_but_not_applied(fresh_app: Flask) -> None:
    # The close happened (body `timestamp`) before the sprint change that arrives first here.
    _send(fresh_app, "own/issue_updated__sprint_removed", "own/issue_updated__closed")
    assert flow.state(fresh_app, "jira")["tickets"][STORY] == "open"
    assert flow.stored_deliveries(fresh_app) == 2


def test_a_sprint_from_creation_to_deletion(fresh_app: Flask) -> None:
    _send(
        fresh_app,
        "own/sprint_created__minimal",
        "own/sprint_updated__sprint37",
        "own/sprint_started__sprint37",
        "own/sprint_closed__sprint37",
        "own/sprint_deleted__sprint37",
    )
    state = flow.state(fresh_app, "jira")
    assert state["iterations"] == {S37: "deleted"}
    assert state["log"] == ["iteration.created", "iteration.started", "iteration.closed", "iteration.deleted"]
