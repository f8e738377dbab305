"""Every GitLab payload we have, through /webhooks/gitlab (secret token) and the worker. Each ends processed, or
ignored with its reason; the ones that matter leave the expected state and value-log kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from tests.integrations import flow

CASES = flow.own("gitlab")
BY_ID = {case.id: case for case in CASES}

ISSUE = "gitlab:digital-services/benefits-portal#5"
MILESTONE_31 = "gitlab:digital-services/benefits-portal/milestone/31"
MILESTONE_32 = "gitlab:digital-services/benefits-portal/milestone/32"
ITERATION_1206 = "gitlab:digital-services/iteration/1206"  # iterations belong to the group, milestones to the project
ITERATION_1207 = "gitlab:digital-services/iteration/1207"

EXPECTED: dict[str, dict[str, Any]] = {
    "own/issue__opened": {
        "tickets": {ISSUE: "open"},
        "labels": {ISSUE: ["bug", "value:transparency"]},
        "iterations": {MILESTONE_31: "future"},
        "memberships": {(ISSUE, MILESTONE_31): "in"},
        "log": ["ticket.created", "label.added", "iteration.created", "iteration.joined"],
    },
    # Seen first at a later delivery: placed in the milestone it is in, as an opened one would be.
    "own/issue__labels_changed": {
        "labels": {ISSUE: ["value:accessibility-inclusion", "value:transparancy", "value:transparency"]},
        "memberships": {(ISSUE, MILESTONE_31): "in"},
        "log": [
            "ticket.created",
            "label.added",
            "label.unknown",
            "label.added",
            "iteration.created",
            "iteration.joined",
        ],
    },
    # Seen first at its iteration change: it joins the new ones (it was never known in the old ones).
    "own/issue__iteration_changed": {
        "iterations": {ITERATION_1207: "future", MILESTONE_32: "future"},
        "memberships": {(ISSUE, ITERATION_1207): "in", (ISSUE, MILESTONE_32): "in"},
        "log": ["ticket.created", "label.added", *["iteration.created", "iteration.joined"] * 2],
    },
    "own/issue__closed": {
        "tickets": {ISSUE: "closed"},
        "memberships": {(ISSUE, MILESTONE_31): "in"},
        "log": ["ticket.created", "ticket.closed", "label.added", "iteration.created", "iteration.joined"],
    },
    "own/issue__reopened": {
        "tickets": {ISSUE: "open"},
        "memberships": {(ISSUE, MILESTONE_31): "in"},
        "log": ["ticket.created", "label.added", "iteration.created", "iteration.joined"],
    },
    # A `/value` answer from someone who is not a stakeholder: not counted, logged, one reply saying how to be added.
    "own/note__issue_comment": {**flow.NOTHING, "log": ["checkin.refused"]},
    "own/note__merge_request": {"ignored": "comments on 'MergeRequest' are not acted on"},
    "own/note__system": {"ignored": "system note"},
    "own/push__main": {"ignored": "'Push Hook' is not acted on"},
}


def test_the_fixtures_are_all_here() -> None:
    assert len(CASES) >= 9
    assert set(EXPECTED) <= set(BY_ID)  # a misspelt name would check nothing


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_payload_ends_processed_or_ignored(fresh_app: Flask, case: flow.Case) -> None:
    flow.check(fresh_app, "gitlab", case, EXPECTED, {})


def moved(case: flow.Case) -> flow.Case:
    payload = json.loads(case.body)
    payload["object_attributes"].update(iteration_id=1207, milestone_id=32)
    return flow.Case(f"{case.id} (moved)", case.event, json.dumps(payload).encode())


def test_an_iteration_change_leaves_the_old_iteration_and_milestone_and_joins_the_new(fresh_app: Flask) -> None:
    """The defect this proves fixed: `issue__iteration_changed` used to end `failed` in the worker."""
    opened = json.loads(BY_ID["own/issue__opened"].body)
    # The change says the issue was in iteration 1206 before; the opened fixture predates iterations, so say so.
    opened["object_attributes"]["iteration_id"] = 1206
    steps = [
        flow.Case("opened in iteration 1206", "Issue Hook", json.dumps(opened).encode()),
        BY_ID["own/issue__iteration_changed"],
        # Closed and reopened after the change, so in iteration 1207 and milestone 32 (GitLab says where it is).
        moved(BY_ID["own/issue__closed"]),
        moved(BY_ID["own/issue__reopened"]),
    ]
    flow.send_all(fresh_app, "gitlab", steps)
    state = flow.state(fresh_app, "gitlab")
    assert state["tickets"] == {ISSUE: "open"}
    assert state["memberships"] == {
        (ISSUE, ITERATION_1206): "left",
        (ISSUE, MILESTONE_31): "left",
        (ISSUE, ITERATION_1207): "in",
        (ISSUE, MILESTONE_32): "in",
    }
    joined_both = ["iteration.created", "iteration.joined"] * 2
    assert state["log"] == [
        "ticket.created",
        "label.added",
        *joined_both,  # opened in iteration 1206 and milestone 31
        "iteration.left",  # 1206 ...
        "iteration.created",
        "iteration.joined",  # ... -> 1207
        "iteration.left",  # milestone 31 ...
        "iteration.created",
        "iteration.joined",  # ... -> 32
        "ticket.closed",
        "ticket.reopened",
    ]
