"""GitLab webhook payloads -> domain Events: issues (state, labels, milestone/iteration) and issue comments.

Ticket events carry data title, description, state (open|closed), url, labels (the full current list), is_epic
and iteration (the iteration key, else the milestone key, else None). Everything else is Ignored with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from integrations.base import Identity, is_own_comment
from service.domain import events as kinds
from service.domain import keys
from service.domain.events import Event, Ignored

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


def _time(value: Any) -> datetime | None:
    """GitLab writes `2026-11-28T12:00:00Z` in newer payloads and `2026-11-28 12:00:00 UTC` in older ones."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _label_titles(raw: Any) -> list[str]:
    return [str(label["title"]) for label in raw or [] if isinstance(label, Mapping) and label.get("title")]


def _namespace(project_path: str) -> str:
    return project_path.rsplit("/", 1)[0] if "/" in project_path else project_path


def _iteration(project_path: str, attributes: Mapping[str, Any]) -> str | None:
    if attributes.get("iteration_id"):
        return keys.gitlab_iteration(_namespace(project_path), attributes["iteration_id"])
    if attributes.get("milestone_id"):
        return keys.gitlab_milestone(project_path, attributes["milestone_id"])
    return None


def _actor(payload: Mapping[str, Any]) -> str:
    user = payload.get("user") or {}
    return f"gitlab:{user.get('username') or user.get('name') or 'unknown'}"


def _project_path(payload: Mapping[str, Any]) -> str | None:
    project = payload.get("project") or {}
    path = project.get("path_with_namespace")
    return str(path) if path else None


def _ticket_data(attributes: Mapping[str, Any], labels: list[str], project_path: str) -> dict[str, Any]:
    return {
        "title": str(attributes.get("title") or ""),
        "description": attributes.get("description") or "",
        "state": "closed" if attributes.get("state") == "closed" else "open",
        "url": attributes.get("url"),
        "labels": labels,
        "is_epic": str(attributes.get("type") or "").lower() == "epic" or EPIC_LABEL in [x.lower() for x in labels],
        "iteration": _iteration(project_path, attributes),
    }


def _issue(payload: Mapping[str, Any]) -> list[Event] | Ignored:
    attributes = payload.get("object_attributes")
    project_path = _project_path(payload)
    if not isinstance(attributes, Mapping) or project_path is None or attributes.get("iid") is None:
        return Ignored("GitLab issue event without object_attributes.iid or project.path_with_namespace")
    subject = keys.gitlab_issue(project_path, attributes["iid"])
    labels = _label_titles(attributes.get("labels") or payload.get("labels"))
    data = _ticket_data(attributes, labels, project_path)
    at, actor = _time(attributes.get("updated_at")), _actor(payload)

    def event(kind: str, extra: Mapping[str, Any] | None = None) -> Event:
        return Event(kind, SOURCE, subject, actor, at, {**data, **(extra or {})})

    action = attributes.get("action")
    changes = payload.get("changes") or {}
    if action == "open":
        return [event(kinds.TICKET_CREATED), *(event(kinds.LABEL_ADDED, {"label": name}) for name in labels)]
    if action == "close":
        return [event(kinds.TICKET_CLOSED)]
    if action == "reopen":
        return [event(kinds.TICKET_REOPENED)]
    if action != "update":
        return Ignored(f"GitLab issue action {action!r} is not acted on")
    result = [event(kinds.TICKET_UPDATED)]
    if "labels" in changes:
        before = _label_titles(changes["labels"].get("previous"))
        after = _label_titles(changes["labels"].get("current"))
        result += [event(kinds.LABEL_ADDED, {"label": name}) for name in after if name not in before]
        result += [event(kinds.LABEL_REMOVED, {"label": name}) for name in before if name not in after]
    for field, key_of in (
        ("iteration_id", lambda v: keys.gitlab_iteration(_namespace(project_path), v)),
        ("milestone_id", lambda v: keys.gitlab_milestone(project_path, v)),
    ):
        change = changes.get(field)
        if not isinstance(change, Mapping):
            continue
        if change.get("previous"):
            result.append(event(kinds.ITERATION_LEFT, {"left": key_of(change["previous"])}))
        if change.get("current"):
            result.append(event(kinds.ITERATION_JOINED, {"joined": key_of(change["current"])}))
    return result


def _note(payload: Mapping[str, Any]) -> list[Event] | Ignored:
    attributes = payload.get("object_attributes")
    if not isinstance(attributes, Mapping):
        return Ignored("GitLab note event without object_attributes")
    if attributes.get("noteable_type") != "Issue":
        return Ignored(f"comments on {attributes.get('noteable_type')!r} are not acted on (only on issues)")
    if attributes.get("system"):
        return Ignored("GitLab system note (written by GitLab itself, not a person)")
    body = str(attributes.get("note") or "")
    if is_own_comment(body):
        return Ignored("a comment this service posted itself (it carries an outbox marker)")
    issue, project_path = payload.get("issue"), _project_path(payload)
    if not isinstance(issue, Mapping) or project_path is None or issue.get("iid") is None:
        return Ignored("GitLab issue comment without issue.iid or project.path_with_namespace")
    user = payload.get("user") or {}
    return [
        Event(
            kinds.COMMENT_CREATED,
            SOURCE,
            keys.gitlab_issue(project_path, issue["iid"]),
            _actor(payload),
            _time(attributes.get("created_at")),
            {
                "author": str(user.get("username") or user.get("name") or ""),
                "body": body,
                "comment_id": str(attributes.get("id")),
                "url": attributes.get("url"),
            },
        )
    ]
