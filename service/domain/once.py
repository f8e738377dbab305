"""Once-keys: the one text for each "this was done" that the service keeps in state (the `once_keys` table)."""

from __future__ import annotations

import json

# Every shape is made here, so writers and readers agree, and migration 0010 (which backfilled them from the value
# log) has one place to match. A key is a JSON array of its parts, `["value.alert","divergence","jira:P-1",null]`,
# not parts joined by a separator: tracker keys and alert types may contain any character.


def key(*parts: str | int | None) -> str:
    """The once-key of these parts; plugin actions build theirs with this, starting with their own name."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def rule_fired(rule_id: str, once: str) -> str:
    """A rule with `once_per` fired for this combination of values (`once` as `service.reactions` renders it)."""
    return key("rule.fired", rule_id, once)


def alert_raised(alert_type: str, target: str) -> str:
    """An alert of this type was raised on this epic, in any iteration."""
    return key("value.alert", alert_type, target)


def alert_raised_in(alert_type: str, target: str, iteration: str | None) -> str:
    """An alert of this type was raised on this epic in this iteration (None: raised outside any iteration)."""
    return key("value.alert", alert_type, target, iteration)


def ticket_created(ticket_key: str) -> str:
    """`ticket.created` was recorded: the ticket was seen in its own right, not only named by another ticket."""
    return key("ticket.created", ticket_key)


def hypothesis_status(hypothesis_id: int, status: str, reason: str | None) -> str:
    """The hypothesis was set to this status with this reason (at creation or by a change)."""
    return key("hypothesis.status", hypothesis_id, status, reason)


def summary_posted(iteration: str, target: str) -> str:
    """The sprint value summary of this iteration was posted on this issue (an epic or the report issue)."""
    return key("summary.posted", iteration, target)
