"""Every GitHub payload we have, signed through /webhooks/github and the worker: own fixtures, Zulip's captured
deliveries and all 329 @octokit/webhooks-examples. Each ends processed, or ignored with its reason; the ones that
matter leave the expected state and value-log kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from service.runtime import runtime
from service.storage.models import Ticket
from tests.integrations import flow

CASES = flow.own("github") + flow.zulip("github") + flow.octokit()
BY_ID = {case.id: case for case in CASES}

# Refused at intake with a 400 that names the offending JSON path: the worker could not process them either.
REFUSED = {
    # A deliberately malformed own fixture: `labels` is a string where GitHub always sends an array.
    "own/issues__opened_malformed_labels": (
        "the payload is malformed: $.issue.labels should be an array, found a string"
    ),
}

PERMITS = "github:city-council/permits"
STORY, EPIC, CHILD = f"{PERMITS}#35", f"{PERMITS}#34", f"{PERMITS}#36"
M3, M4 = f"{PERMITS}/milestone/3", f"{PERMITS}/milestone/4"
STORY_LABELS = ["value-risk:privacy-security", "value:transparancy", "value:transparency"]
# A first-seen issue with labels and an open milestone: created, its value labels (one misspelt), the milestone.
STORY_FIRST_SEEN = ["label.added", "label.unknown", "label.added", "iteration.created", "iteration.started"]
HELLO = "github:Codertocat/Hello-World"
HELLO_M1 = f"{HELLO}/milestone/1"
# octokit's issue examples carry the closed milestone 1 and the label `bug` (not a value label: not logged).
HELLO_FIRST_SEEN = ["ticket.created", "iteration.created", "iteration.closed", "iteration.joined"]
TESTING_GH = "github:sbansal1999/testing-gh"

EXPECTED: dict[str, dict[str, Any]] = {
    "own/issues__opened": {
        "tickets": {STORY: "open"},
        "labels": {STORY: STORY_LABELS},
        "iterations": {M3: "active"},
        "memberships": {(STORY, M3): "in"},
        "log": ["ticket.created", *STORY_FIRST_SEEN, "iteration.joined"],
    },
    "own/issues__opened_epic": {
        "tickets": {EPIC: "open"},
        "labels": {EPIC: ["epic", "value:transparency"]},
        "epics": {EPIC: []},
        "log": ["ticket.created", "label.added", "hypothesis.created"],  # its description holds a hypothesis block
    },
    "own/issues__labeled": {
        "labels": {STORY: ["value-risk:privacy-security", "value/a11y", "value:transparancy", "value:transparency"]},
        "log": ["ticket.created", "label.added", *STORY_FIRST_SEEN, "iteration.joined"],
    },
    "own/issues__milestoned": {
        "iterations": {M4: "active"},
        "memberships": {(STORY, M4): "in"},
    },
    "own/issues__closed": {
        "tickets": {STORY: "closed"},
        "log": ["ticket.created", "ticket.closed", *STORY_FIRST_SEEN, "iteration.joined"],
    },
    "own/issues__deleted": {
        "tickets": {STORY: "deleted"},
        "labels": {},  # a deleted ticket keeps no labels and joins nothing
        "memberships": {},
        "log": ["ticket.created", "ticket.deleted"],
    },
    # A `/value` answer from someone who is not a stakeholder: not counted, logged, one reply saying how to be added.
    "own/issue_comment__created": {**flow.NOTHING, "log": ["checkin.refused"]},
    "own/milestone__created": {"iterations": {M3: "active"}, "log": ["iteration.created", "iteration.started"]},
    "own/milestone__closed": {"iterations": {M3: "closed"}, "log": ["iteration.created", "iteration.closed"]},
    "own/milestone__deleted": {"iterations": {M3: "deleted"}, "log": ["iteration.created", "iteration.deleted"]},
    "own/sub_issues__sub_issue_added": {
        "tickets": {EPIC: "open", CHILD: "open"},
        "epics": {EPIC: [CHILD]},
        "log": ["ticket.created", "label.added", "hypothesis.created", "ticket.created", "label.added", "epic.linked"],
    },
    "own/sub_issues__parent_issue_removed": {
        "epics": {EPIC: []},
        "log": ["ticket.created", "label.added", "hypothesis.created", "ticket.created", "label.added"],
    },
    # The item names its issue by node id only; an issue never seen cannot join, but the iteration becomes known.
    "own/projects_v2_item__edited_iteration": {
        "tickets": {},
        "iterations": {"github:project/PVT_kwDOBV8x2c4AkQzO/iteration/e5f6a7b8": "future"},
        "memberships": {},
        "log": ["iteration.created"],
    },
    "own/projects_v2_item__edited_status": {"ignored": "not an iteration field change"},
    "own/ping__repository": {"trackers": ["city-council/permits"], "log": []},
    "zulip/issues__opened": {"tickets": {"github:DhruvShetty22/zulip-test#33": "open"}, "log": ["ticket.created"]},
    "zulip/issues__labeled": {
        "tickets": {f"{TESTING_GH}#9": "open"},
        "labels": {f"{TESTING_GH}#9": ["bug"]},
        "log": ["ticket.created"],  # `bug` is not a value label
    },
    "zulip/issues__milestoned": {
        "iterations": {f"{TESTING_GH}/milestone/1": "active"},
        "memberships": {(f"{TESTING_GH}#6", f"{TESTING_GH}/milestone/1"): "in"},
        "log": ["ticket.created", "iteration.created", "iteration.started", "iteration.joined"],
    },
    "zulip/issues__closed": {
        "tickets": {"github:Pritesh-30/test-repo#8": "closed"},
        "log": ["ticket.created", "ticket.closed"],
    },
    # The old repository's side of a transfer: the issue is gone from there (the new one sends `opened`).
    "zulip/issues__transferred": {
        "tickets": {"github:CrisisCollab/TestWebhook#4": "deleted"},
        "log": ["ticket.created", "ticket.deleted"],
    },
    "zulip/issues__opened_via_transfer": {"tickets": {"github:CrisisCollab/admin-frontend-mvp#4": "open"}},
    "zulip/issues__assigned": {"ignored": "assignees are not value state"},
    "zulip/issue_comment__pull_request_comment": {"ignored": "pull requests are not tickets"},
    "zulip/issue_comment__edited__unchanged": {"ignored": "edits would rewrite history"},
    "zulip/ping__organization": {"trackers": ["zulip-test-org"], "log": []},
    "zulip/ping__sponsors": {"trackers": ["marcphilipp"]},
    "octokit/issues[15]": {
        "tickets": {f"{HELLO}#1": "open"},
        "labels": {f"{HELLO}#1": ["bug"]},
        "iterations": {HELLO_M1: "closed"},
        "memberships": {(f"{HELLO}#1", HELLO_M1): "in"},
        "log": HELLO_FIRST_SEEN,
    },
    "octokit/issues[9]": {"labels": {f"{HELLO}#1": ["bug"]}, "log": HELLO_FIRST_SEEN},
    "octokit/issues[13]": {"memberships": {(f"{HELLO}#2", HELLO_M1): "in"}, "log": HELLO_FIRST_SEEN},
    "octokit/issues[20]": {"tickets": {f"{HELLO}#1": "open"}, "log": HELLO_FIRST_SEEN},
    "octokit/issues[4]": {"tickets": {f"{HELLO}#1": "deleted"}, "log": ["ticket.created", "ticket.deleted"]},
    "octokit/issues[21]": {"tickets": {"github:octo-org/hello-world-npm#1": "deleted"}},
    "octokit/milestone[0]": {"iterations": {HELLO_M1: "active"}, "log": ["iteration.created", "iteration.started"]},
    "octokit/milestone[1]": {"iterations": {HELLO_M1: "closed"}, "log": ["iteration.created", "iteration.closed"]},
    "octokit/milestone[4]": {"iterations": {HELLO_M1: "deleted"}, "log": ["iteration.created", "iteration.deleted"]},
    "octokit/ping[3]": {"trackers": ["Octocoders"]},
    "octokit/issue_comment[0]": flow.NOTHING,
    "octokit/issue_comment[7]": {"ignored": "edits would rewrite history"},
    "octokit/label[1]": {"ignored": "label definitions only"},
    "octokit/pull_request[0]": {"ignored": "pull requests are not tickets"},
    "octokit/projects_v2_item[4]": {"ignored": "not an iteration field change"},
    "octokit/push[0]": {"ignored": "commits carry no value state"},
}


def test_the_collections_are_all_here() -> None:
    """The counts of the copied collections (their READMEs), so a lost file cannot shrink the test silently."""
    assert sum(case.id.startswith("octokit/") for case in CASES) == 329
    assert sum(case.id.startswith("zulip/") for case in CASES) == 18
    assert sum(case.id.startswith("own/") for case in CASES) >= 24
    assert set(REFUSED) | set(EXPECTED) <= set(BY_ID)  # a misspelt name would check nothing


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_payload_ends_processed_or_ignored(fresh_app: Flask, case: flow.Case) -> None:
    flow.check(fresh_app, "github", case, EXPECTED, REFUSED)


def _send(app: Flask, *ids: str) -> None:
    flow.send_all(app, "github", [BY_ID[case_id] for case_id in ids])


def test_an_issue_through_its_life_leaves_and_rejoins_milestones(fresh_app: Flask) -> None:
    _send(
        fresh_app,
        "own/issues__opened",
        "own/issues__milestoned",
        "own/issues__demilestoned",
        "own/issues__closed",
        "own/issues__reopened",
    )
    state = flow.state(fresh_app, "github")
    assert state["tickets"] == {STORY: "open"}
    assert state["memberships"] == {(STORY, M3): "in", (STORY, M4): "left"}
    assert state["log"] == [
        "ticket.created",
        *STORY_FIRST_SEEN,
        "iteration.joined",
        "iteration.left",  # milestoned: from milestone 3 ...
        "iteration.created",
        "iteration.started",
        "iteration.joined",  # ... to milestone 4
        "iteration.left",  # demilestoned
        "ticket.closed",
        "ticket.updated",  # closed with a new title
        "iteration.joined",  # and in milestone 3 again
        "ticket.reopened",
    ]


def test_a_label_added_then_removed(fresh_app: Flask) -> None:
    _send(fresh_app, "own/issues__opened", "own/issues__labeled", "own/issues__unlabeled")
    state = flow.state(fresh_app, "github")
    assert state["labels"] == {STORY: ["value/a11y", "value:transparancy", "value:transparency"]}
    assert state["log"][-2:] == ["label.added", "label.removed"]  # value/a11y, then value-risk:privacy-security


def test_a_projects_iteration_change_moves_the_issue_it_names_by_node_id(fresh_app: Flask) -> None:
    _send(fresh_app, "own/issues__opened", "own/projects_v2_item__edited_iteration")
    iteration = "github:project/PVT_kwDOBV8x2c4AkQzO/iteration/e5f6a7b8"
    assert flow.state(fresh_app, "github")["memberships"] == {(STORY, M3): "in", (STORY, iteration): "in"}
    assert flow.state(fresh_app, "github")["log"][-2:] == ["iteration.created", "iteration.joined"]


def test_real_milestone_and_label_round_trips_are_undone(fresh_app: Flask) -> None:
    _send(
        fresh_app,
        "zulip/issues__milestoned",
        "zulip/issues__demilestoned",
        "zulip/issues__labeled",
        "zulip/issues__unlabeled",
    )
    state = flow.state(fresh_app, "github")
    assert state["memberships"] == {(f"{TESTING_GH}#6", f"{TESTING_GH}/milestone/1"): "left"}
    assert state["labels"] == {}
    assert state["log"] == [
        "ticket.created",
        "iteration.created",
        "iteration.started",
        "iteration.joined",
        "iteration.left",
        "ticket.created",
    ]


def test_an_older_real_edit_arriving_late_does_not_overwrite_the_newer_one(fresh_app: Flask) -> None:
    # GitHub sent the body edit (title "New Issue edited") hours before the title edit; here it arrives last.
    _send(fresh_app, "zulip/issues__edited_title", "zulip/issues__edited_body")
    newer = json.loads(BY_ID["zulip/issues__edited_title"].body)["issue"]
    with runtime(fresh_app).transaction() as session:
        ticket = session.get(Ticket, "github:Pritesh-30/test-repo#6")
        assert ticket is not None
        assert ticket.title == newer["title"] != "New Issue edited"
    assert flow.state(fresh_app, "github")["log"] == ["ticket.created"]
