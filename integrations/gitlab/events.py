"""GitLab webhook payloads -> domain Events: issues (state, labels, milestone/iteration) and issue comments.

Ticket events carry a snapshot: title, description, state (open|closed), url, issue type, labels (the full current
list) and is_epic. Iterations (the group's iteration, the project's milestone) are joined and left explicitly: at
opening for the ones the issue is in, on update for the ones `changes` says moved. Everything else is Ignored with a
reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from integrations.base import Identity, is_own_comment
from integrations.payload import Node, parse_time
from service.domain import keys
from service.domain.events import Event, Ignored
from service.domain.kinds import Kind
from service.domain.payloads import Comment, IterationReport, LabelChange, Payload, PlacementReport, TicketReport

SOURCE = "gitlab"
ISSUE_EVENTS = ("Issue Hook", "Confidential Issue Hook")
NOTE_EVENTS = ("Note Hook", "Confidential Note Hook")
EPIC_LABEL = "epic"


def normalise(identity: Identity, payload: Mapping[str, Any]) -> list[Event] | Ignored:
    if identity.event in ISSUE_EVENTS:
        return _issue(payload)
    if identity.event in NOTE_EVENTS:
        return _note(payload)
    return Ignored(f"GitLab {identity.event!r} is not acted on (only issue and issue comment events are)")


def _time(node: Node, name: str) -> datetime | None:
    """GitLab writes `2026-11-28T12:00:00Z` in newer payloads and `2026-11-28 12:00:00 UTC` in older ones."""
    value = node.opt_text(name)
    if not value:
        return None
    return parse_time(value.replace(" UTC", "+00:00"), f"{node.path}.{name}")


def _label_titles(labels: list[Node] | None) -> list[str]:
    return [title for label in labels or [] if (title := label.opt_text("title"))]


def _namespace(project_path: str) -> str:
    return project_path.rsplit("/", 1)[0] if "/" in project_path else project_path


def _iteration_keys(project_path: str) -> dict[str, Callable[[str], str]]:
    """The iteration (of the group) and the milestone (of the project) an issue can be in, by attribute."""
    return {
        "iteration_id": lambda ident: keys.gitlab_iteration(_namespace(project_path), ident),
        "milestone_id": lambda ident: keys.gitlab_milestone(project_path, ident),
    }


def _actor(body: Node) -> str:
    user = body.opt_obj("user")
    name = (user.opt_text("username") or user.opt_text("name")) if user else None
    return f"gitlab:{name or 'unknown'}"


def _project_path(body: Node) -> str | None:
    project = body.opt_obj("project")
    return project.opt_text("path_with_namespace") if project else None


def _ticket_data(attributes: Node, labels: list[str]) -> TicketReport:
    issue_type = attributes.opt_text("type")
    return TicketReport(
        title=attributes.opt_text("title") or "",
        description=attributes.opt_text("description") or "",
        state="closed" if attributes.opt_text("state") == "closed" else "open",
        url=attributes.opt_text("url"),
        issue_type=issue_type,
        labels=labels,
        is_epic=(issue_type or "").lower() == EPIC_LABEL or EPIC_LABEL in [x.lower() for x in labels],
    )


def _issue(payload: Mapping[str, Any]) -> list[Event] | Ignored:
    body = Node(payload)
    attributes = body.opt_obj("object_attributes")
    project_path = _project_path(body)
    if attributes is None or project_path is None or not attributes.has("iid"):
        return Ignored("GitLab issue event without object_attributes.iid or project.path_with_namespace")
    subject = keys.gitlab_issue(project_path, attributes.ident("iid"))
    labels = _label_titles(attributes.opt_objects("labels") or body.opt_objects("labels"))
    at, actor = _time(attributes, "updated_at"), _actor(body)

    def event(kind: str, data: Payload) -> Event:
        return Event(kind, SOURCE, subject, actor, at, data)

    def membership(kind: str, key: str) -> Event:
        return event(kind, PlacementReport(iteration=IterationReport(key=key)))

    snapshot = _ticket_data(attributes, labels)
    iteration_keys = _iteration_keys(project_path)
    # Where the issue is now. Joining again is a no-op in the pipeline, so every delivery can say it: a ticket
    # first seen on a close or an edit is placed too, as GitHub and Jira snapshots place theirs.
    placed = [key_of(ident) for name, key_of in iteration_keys.items() if (ident := attributes.opt_ident(name))]
    action = attributes.opt_text("action")
    if action == "open":
        return [
            event(Kind.TICKET_CREATED, snapshot),
            *(event(Kind.LABEL_ADDED, LabelChange(label=name)) for name in labels),
            *(membership(Kind.ITERATION_JOINED, key) for key in placed),
        ]
    if action in ("close", "reopen"):
        kind = Kind.TICKET_CLOSED if action == "close" else Kind.TICKET_REOPENED
        return [event(kind, snapshot), *(membership(Kind.ITERATION_JOINED, key) for key in placed)]
    if action != "update":
        return Ignored(f"GitLab issue action {action!r} is not acted on")
    result = [event(Kind.TICKET_UPDATED, snapshot)]
    changes = body.opt_obj("changes")
    label_change = changes.opt_obj("labels") if changes else None
    if label_change is not None:
        before = _label_titles(label_change.opt_objects("previous"))
        after = _label_titles(label_change.opt_objects("current"))
        result += [event(Kind.LABEL_ADDED, LabelChange(label=name)) for name in after if name not in before]
        result += [event(Kind.LABEL_REMOVED, LabelChange(label=name)) for name in before if name not in after]
    for name, key_of in iteration_keys.items():
        change = changes.opt_obj(name) if changes else None
        if change is None:
            continue
        left, joined = change.opt_ident("previous"), change.opt_ident("current")
        if left:
            result.append(membership(Kind.ITERATION_LEFT, key_of(left)))
        if joined:
            result.append(membership(Kind.ITERATION_JOINED, key_of(joined)))
    joined_already = {e.data.about_iteration() for e in result if e.kind == Kind.ITERATION_JOINED}
    return result + [membership(Kind.ITERATION_JOINED, key) for key in placed if key not in joined_already]


def _note(payload: Mapping[str, Any]) -> list[Event] | Ignored:
    body = Node(payload)
    attributes = body.opt_obj("object_attributes")
    if attributes is None:
        return Ignored("GitLab note event without object_attributes")
    noteable = attributes.opt_text("noteable_type")
    if noteable != "Issue":
        return Ignored(f"comments on {noteable!r} are not acted on (only on issues)")
    if attributes.opt_bool("system"):
        return Ignored("GitLab system note (written by GitLab itself, not a person)")
    text = attributes.opt_text("note") or ""
    if is_own_comment(text):
        return Ignored("a comment this service posted itself (it carries an outbox marker)")
    issue, project_path = body.opt_obj("issue"), _project_path(body)
    if issue is None or project_path is None or not issue.has("iid"):
        return Ignored("GitLab issue comment without issue.iid or project.path_with_namespace")
    user = body.opt_obj("user")
    return [
        Event(
            Kind.COMMENT_CREATED,
            SOURCE,
            keys.gitlab_issue(project_path, issue.ident("iid")),
            _actor(body),
            _time(attributes, "created_at"),
            Comment(
                author=((user.opt_text("username") or user.opt_text("name")) if user else None) or "",
                body=text,
                comment_id=attributes.ident("id"),
                url=attributes.opt_text("url"),
            ),
        )
    ]
