"""Jira payloads -> domain events. Every event name is either handled here or listed in IGNORED with a reason.

Ticket events carry a snapshot of the issue (`service.pipeline` lists the keys); changelog items add the explicit
changes (labels, parent, legacy Epic Link, Sprint). The pipeline compares both with stored state, so nothing counts
twice. Jira answers every ignored event with 2xx, so it does not retry them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from integrations.base import Identity, is_own_comment
from integrations.payload import Node, PayloadError
from service.domain import keys
from service.domain.events import Event, Ignored
from service.domain.kinds import Kind
from service.domain.payloads import (
    Comment,
    EpicChange,
    IterationReport,
    IterationState,
    LabelChange,
    ParentReport,
    Payload,
    PlacementReport,
    TicketReport,
)

SOURCE = "jira"

IGNORED: dict[str, str] = {
    "comment_updated": "a check-in answer counts as first posted; edits would rewrite history",
    "comment_deleted": "answers already recorded stay in the value log; nothing to apply",
    "worklog_created": "time tracking carries no value state",
    "worklog_updated": "time tracking carries no value state",
    "worklog_deleted": "time tracking carries no value state",
    "jira:worklog_updated": "time tracking carries no value state",
    "attachment_created": "attachments carry no value state",
    "attachment_deleted": "attachments carry no value state",
    "issuelink_created": "issue links other than the parent carry no value state",
    "issuelink_deleted": "issue links other than the parent carry no value state",
    "project_created": "projects carry no value state; their issues do",
    "project_updated": "projects carry no value state; their issues do",
    "project_deleted": "projects carry no value state; their issues do",
    "project_soft_deleted": "projects carry no value state; their issues do",
    "project_restored_deleted": "projects carry no value state; their issues do",
    "project_archived": "projects carry no value state; their issues do",
    "project_restored_archived": "projects carry no value state; their issues do",
    "jira:version_created": "versions are releases, not iterations; iterations are sprints",
    "jira:version_updated": "versions are releases, not iterations; iterations are sprints",
    "jira:version_released": "versions are releases, not iterations; iterations are sprints",
    "jira:version_unreleased": "versions are releases, not iterations; iterations are sprints",
    "jira:version_moved": "versions are releases, not iterations; iterations are sprints",
    "jira:version_deleted": "versions are releases, not iterations; iterations are sprints",
    "jira:version_merged": "versions are releases, not iterations; iterations are sprints",
    "user_created": "user accounts carry no value state",
    "user_updated": "user accounts carry no value state",
    "user_deleted": "user accounts carry no value state",
    "board_created": "boards carry no value state; their sprints do",
    "board_updated": "boards carry no value state; their sprints do",
    "board_deleted": "boards carry no value state; their sprints do",
    "board_configuration_changed": "boards carry no value state; their sprints do",
    "option_voting_changed": "site settings carry no value state",
    "option_watching_changed": "site settings carry no value state",
    "option_unassigned_issues_changed": "site settings carry no value state",
    "option_subtasks_changed": "site settings carry no value state",
    "option_attachments_changed": "site settings carry no value state",
    "option_issuelinks_changed": "site settings carry no value state",
    "option_timetracking_changed": "site settings carry no value state",
}

_SPRINT_KINDS = {
    "sprint_created": Kind.ITERATION_CREATED,
    "sprint_updated": Kind.ITERATION_UPDATED,
    "sprint_started": Kind.ITERATION_STARTED,
    "sprint_closed": Kind.ITERATION_CLOSED,
    "sprint_deleted": Kind.ITERATION_DELETED,
}
_ISSUE_KINDS = {
    "jira:issue_created": Kind.TICKET_CREATED,
    "jira:issue_updated": Kind.TICKET_UPDATED,
    "jira:issue_deleted": Kind.TICKET_DELETED,
}
SPRINT_SCOPE = "jira:sprint/"
# Jira Server sends sprints as strings: com.atlassian.greenhopper.service.sprint.Sprint@1f[id=3,state=ACTIVE,...]
_SERVER_SPRINT = re.compile(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@\w+\[(.*)\]$", re.DOTALL)


def normalise(identity: Identity, payload: Mapping[str, Any]) -> list[Event] | Ignored:
    """Raises PayloadError (naming the JSON path) when a field the service reads has the wrong type."""
    event = identity.event
    if event in IGNORED:
        return Ignored(f"{event}: {IGNORED[event]}")
    body = Node(payload)
    if event in _ISSUE_KINDS:
        return _issue_event(body, _ISSUE_KINDS[event])
    if event == "comment_created":
        return _comment_created(body)
    if event in _SPRINT_KINDS:
        return _sprint_event(body, _SPRINT_KINDS[event])
    return Ignored(f"{event}: not an event this service uses (stored for the record)")


def _actor(body: Node) -> str:
    user = body.opt_obj("user")
    return _person(user) or "jira"


def _person(user: Node | None) -> str | None:
    if user is None:
        return None
    ident = user.opt_text("accountId") or user.opt_text("name") or user.opt_text("key")
    return f"jira:{ident}" if ident else None


def _is_epic_type(issuetype: Node | None) -> bool | None:
    """True/False when the type says, None when the payload does not carry the type."""
    if issuetype is None:
        return None
    level = issuetype.opt_integer("hierarchyLevel")
    if level is not None:
        return level == 1
    name = issuetype.opt_text("name")
    return None if name is None else name.lower() == "epic"


def _description(fields: Node) -> str | None:
    value = fields.data.get("description")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # Atlassian Document Format (REST v3 shape): keep its text
        return _adf_text(value).strip()
    raise PayloadError(f"{fields.path}.description should be a string or a document, found {type(value).__name__}")


def _adf_text(node: Mapping[str, Any]) -> str:
    if node.get("type") == "text" and isinstance(node.get("text"), str):
        return str(node["text"])
    parts = [_adf_text(child) for child in node.get("content") or [] if isinstance(child, Mapping)]
    separator = "\n" if node.get("type") in ("doc", "codeBlock", "bulletList", "orderedList") else ""
    if node.get("type") == "codeBlock":
        language = (node.get("attrs") or {}).get("language") or ""
        return f"```{language}\n{''.join(parts)}\n```\n"
    return separator.join(parts) + ("\n" if node.get("type") == "paragraph" else "")


def sprint_data(sprint: Node) -> IterationReport:
    """A sprint from a sprint event or a Sprint field value; every field except the id is optional."""
    state = (sprint.opt_text("state") or "").lower()
    return IterationReport(
        key=keys.jira_sprint(sprint.ident("id")),
        name=sprint.opt_text("name") or "",
        state=_SPRINT_STATES.get(state),
        goal=sprint.opt_text("goal"),
        start_at=sprint.opt_time("startDate"),
        end_at=sprint.opt_time("endDate"),
        # Sprint ids are site-wide; the board says which team's cadence a sprint belongs to.
        board=next((board for name in _BOARD_FIELDS if (board := sprint.opt_ident(name))), None),
    )


_BOARD_FIELDS = ("originBoardId", "boardId", "rapidViewId")  # Cloud, the Agile API, Server's Sprint strings
_SPRINT_STATES: dict[str, IterationState] = {"future": "future", "active": "active", "closed": "closed"}


def _server_sprint(text: str, path: str) -> IterationReport | None:
    match = _SERVER_SPRINT.match(text.strip())
    if not match:
        return None
    # Values may contain commas (names, goals), so split only before the next `key=`.
    pairs = dict(re.findall(r"(\w+)=(.*?)(?=,\w+=|$)", match.group(1)))
    if not pairs.get("id"):
        return None
    values = {k: (None if v == "<null>" else v) for k, v in pairs.items()}
    return sprint_data(Node(values, path))


def sprints_in(fields: Node) -> list[IterationReport] | None:
    """The Sprint field found by its value's shape (its id differs per site); None when the payload has none."""
    for name, value in fields.data.items():
        if not name.startswith("customfield_") or not isinstance(value, list) or not value:
            continue
        first = value[0]
        if (
            isinstance(first, Mapping)
            and {"id", "name", "state"} <= set(first)
            and ("boardId" in first or "originBoardId" in first or "rapidViewId" in first)
        ):
            return [sprint_data(node) for node in fields.objects(name)]
        if isinstance(first, str) and _SERVER_SPRINT.match(first.strip()):
            found = [_server_sprint(text, f"{fields.path}.{name}") for text in fields.texts(name)]
            return [sprint for sprint in found if sprint is not None]
    return None


def ticket_data(issue: Node) -> TicketReport:
    """The issue as the pipeline stores it. Fields absent from the payload are left out, so state is not erased."""
    fields = issue.opt_obj("fields") or Node({}, f"{issue.path}.fields")
    data: dict[str, Any] = {
        "title": fields.opt_text("summary") or "",
        "description": _description(fields),
        "url": _browse_url(issue),
    }
    issuetype = fields.opt_obj("issuetype")
    data["issue_type"] = issuetype.opt_text("name") if issuetype else None
    data["is_epic"] = bool(_is_epic_type(issuetype))
    status = fields.opt_obj("status")
    category = status.opt_obj("statusCategory") if status else None
    if category is not None:
        data["state"] = "closed" if category.opt_text("key") == "done" else "open"
    if "labels" in fields.data:
        data["labels"] = fields.opt_texts("labels") or []
    if "parent" in fields.data:
        data.update(_parent(fields, issuetype))
    sprints = sprints_in(fields)
    if sprints is not None:
        data["iterations"] = sprints
        data["iteration_scope"] = SPRINT_SCOPE
    if any(name.startswith("customfield_") for name in fields.data):  # a full field set, not a partial issue
        data["estimates"] = _estimates(fields)
    return TicketReport(**data)


def _estimates(fields: Node) -> dict[str, float]:
    """Every numeric custom field: the story points field's id differs per site, and the service's settings name it.
    Out-of-range numbers are left out (an estimate of 10^20 is nobody's estimate, and must not fail the delivery)."""
    found: dict[str, float] = {}
    for name, value in fields.data.items():
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if name.startswith("customfield_") and numeric and math.isfinite(value) and abs(value) <= 1e9:
            found[name] = float(value)
    return found


def _parent(fields: Node, issuetype: Node | None) -> dict[str, Any]:
    parent = fields.opt_obj("parent")
    if parent is None:
        return {"epic": None}
    parent_fields = parent.opt_obj("fields")
    parent_type = parent_fields.opt_obj("issuetype") if parent_fields else None
    parent_is_epic = _is_epic_type(parent_type)
    is_subtask = issuetype.opt_bool("subtask") if issuetype else None
    # A sub-task's parent is a story, not an epic; a standard issue's parent is its epic.
    if parent_is_epic is False or (parent_is_epic is None and is_subtask):
        return {}
    key = keys.jira_issue(parent.text("key"))
    title = (parent_fields.opt_text("summary") if parent_fields else None) or ""
    return {"epic": key, "parent": ParentReport(key=key, title=title)}


def _browse_url(issue: Node) -> str | None:
    self_url, key = issue.opt_text("self"), issue.opt_text("key")
    if self_url and key and "/rest/api/" in self_url:
        return f"{self_url.split('/rest/api/', 1)[0]}/browse/{key}"
    return None


def _issue_event(body: Node, kind: str) -> list[Event] | Ignored:
    issue = body.obj("issue")
    subject = keys.jira_issue(issue.text("key"))
    occurred = body.opt_time("timestamp")
    actor = _actor(body)
    data = ticket_data(issue)
    fields = issue.opt_obj("fields")
    issuetype = fields.opt_obj("issuetype") if fields else None
    result = [Event(kind, SOURCE, subject, actor, occurred, data)]
    changelog = body.opt_obj("changelog")
    for item in changelog.objects("items") if changelog and changelog.has("items") else []:
        result.extend(_changelog_events(item, subject, actor, occurred, issuetype))
    comment = body.opt_obj("comment")
    if comment is not None and kind != Kind.TICKET_DELETED and not is_own_comment(comment.opt_text("body")):
        result.append(_comment_event(comment, subject, body))
    return result


def _split(value: str | None, separator: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(separator) if part.strip()]


def _changelog_events(item: Node, subject: str, actor: str, occurred: Any, issuetype: Node | None) -> list[Event]:
    field = item.opt_text("field") or ""

    def event(kind: str, data: Payload) -> Event:
        return Event(kind, SOURCE, subject, actor, occurred, data)

    if field == "labels":
        # Jira writes the whole label set before and after, space-separated.
        before = set(_split(item.opt_text("fromString"), None))
        after = set(_split(item.opt_text("toString"), None))
        return [event(Kind.LABEL_ADDED, LabelChange(label=name)) for name in sorted(after - before)] + [
            event(Kind.LABEL_REMOVED, LabelChange(label=name)) for name in sorted(before - after)
        ]
    if field in ("IssueParentAssociation", "Epic Link", "Parent"):
        if issuetype is not None and issuetype.opt_bool("subtask"):
            return []  # a sub-task's parent is a story, not an epic
        result = []
        old, new = item.opt_text("fromString"), item.opt_text("toString")
        if old and old != new:
            result.append(event(Kind.EPIC_UNLINKED, EpicChange(epic=keys.jira_issue(old.strip()))))
        if new and old != new:
            result.append(event(Kind.EPIC_LINKED, EpicChange(epic=keys.jira_issue(new.strip()))))
        return result
    if field == "Sprint" or (item.opt_text("fieldId") or "") == "sprint":
        before_ids = _split(item.opt_text("from"), ",")
        after_ids = _split(item.opt_text("to"), ",")
        names = _split(item.opt_text("toString"), ",")
        # Names line up with ids only when no name contains a comma.
        named = dict(zip(after_ids, names, strict=False)) if len(names) == len(after_ids) else {}
        result = []
        for sprint_id in before_ids:
            if sprint_id not in after_ids:
                left = IterationReport(key=keys.jira_sprint(sprint_id))
                result.append(event(Kind.ITERATION_LEFT, PlacementReport(iteration=left)))
        for sprint_id in after_ids:
            if sprint_id not in before_ids:
                joined = IterationReport(key=keys.jira_sprint(sprint_id), name=named.get(sprint_id, ""))
                result.append(event(Kind.ITERATION_JOINED, PlacementReport(iteration=joined)))
        return result
    return []


def _comment_event(comment: Node, subject: str, body: Node) -> Event:
    author = comment.opt_obj("author")
    who = _person(author)
    return Event(
        kind=Kind.COMMENT_CREATED,
        source=SOURCE,
        subject=subject,
        actor=who or _actor(body),
        occurred_at=comment.opt_time("created") or body.opt_time("timestamp"),
        data=Comment(
            comment_id=comment.ident("id"),
            author=who,
            author_name=author.opt_text("displayName") if author else None,
            body=comment.opt_text("body") or "",
        ),
    )


def _comment_created(body: Node) -> list[Event] | Ignored:
    issue = body.opt_obj("issue")
    if issue is None or not issue.has("key"):
        return Ignored("comment_created without the issue: Jira left out which ticket it belongs to")
    comment = body.obj("comment")
    if is_own_comment(comment.opt_text("body")):
        return Ignored("a comment this service posted itself (it carries an outbox marker)")
    return [_comment_event(comment, keys.jira_issue(issue.text("key")), body)]


def _sprint_event(body: Node, kind: str) -> list[Event] | Ignored:
    sprint = body.opt_obj("sprint")
    if sprint is None or not sprint.has("id"):
        return Ignored("sprint event without a sprint id: nothing to attach it to")
    data = sprint_data(sprint)
    if kind == Kind.ITERATION_STARTED:
        data = data.model_copy(update={"state": "active"})
    elif kind == Kind.ITERATION_CLOSED:
        data = data.model_copy(update={"state": "closed", "completed_at": sprint.opt_time("completeDate")})
    elif kind == Kind.ITERATION_DELETED:
        data = data.model_copy(update={"state": "deleted"})
    occurred = body.opt_time("timestamp")
    return [Event(kind, SOURCE, data.key, _actor(body), occurred, data)]
