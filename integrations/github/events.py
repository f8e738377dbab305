"""GitHub payloads -> domain events. Every event name is either handled here or listed in IGNORED with a reason.

A ticket event carries a snapshot of the issue (`TicketReport`); the pipeline compares it with stored state, so a
label or milestone already known is not counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from integrations.base import Identity, is_own_comment
from integrations.payload import Node, PayloadError, parse_time
from service.domain import keys
from service.domain.events import Event, Ignored
from service.domain.kinds import Kind
from service.domain.payloads import (
    Comment,
    EpicChange,
    IterationReport,
    IterationState,
    LabelChange,
    Payload,
    Ping,
    PlacementReport,
    TicketReport,
)

SOURCE = "github"
EPIC_LABEL = "epic"

# Whole events the service deliberately does not act on.
IGNORED: dict[str, str] = {
    "branch_protection_rule": "repository settings carry no value state",
    "check_run": "CI results are not tracker work items",
    "check_suite": "CI results are not tracker work items",
    "code_scanning_alert": "security alerts are not tickets; tag the issue that tracks the fix instead",
    "commit_comment": "comments on commits are not check-in answers (those are issue comments)",
    "create": "branches and tags carry no value state",
    "delete": "branches and tags carry no value state",
    "dependabot_alert": "security alerts are not tickets; tag the issue that tracks the fix instead",
    "deploy_key": "repository settings carry no value state",
    "deployment": "deployments are not tickets",
    "deployment_review": "deployments are not tickets",
    "deployment_status": "deployments are not tickets",
    "discussion": "discussions are not tickets; value labels are read from issues",
    "discussion_comment": "discussions are not tickets; check-in answers are issue comments",
    "fork": "forks carry no value state",
    "github_app_authorization": "app authorisation carries no value state",
    "gollum": "wiki edits carry no value state",
    "installation": "app installation carries no value state",
    "installation_repositories": "app installation carries no value state",
    "installation_target": "app installation carries no value state",
    "label": "label definitions only; labels on tickets arrive as `issues` labeled/unlabeled",
    "marketplace_purchase": "billing carries no value state",
    "member": "repository membership carries no value state",
    "membership": "team membership carries no value state",
    "merge_group": "merge queues are not tickets",
    "meta": "the webhook itself was changed; nothing to apply",
    "organization": "organisation membership carries no value state",
    "org_block": "organisation moderation carries no value state",
    "package": "packages carry no value state",
    "page_build": "GitHub Pages builds carry no value state",
    "project": "classic projects are retired by GitHub; iterations come from milestones and Projects (v2)",
    "project_card": "classic projects are retired by GitHub; iterations come from milestones and Projects (v2)",
    "project_column": "classic projects are retired by GitHub; iterations come from milestones and Projects (v2)",
    "projects_v2": "project settings; iteration changes arrive as `projects_v2_item` edits",
    "public": "repository visibility carries no value state",
    "pull_request": "pull requests are not tickets; value is tracked on issues",
    "pull_request_review": "pull requests are not tickets; value is tracked on issues",
    "pull_request_review_comment": "pull requests are not tickets; check-in answers are issue comments",
    "pull_request_review_thread": "pull requests are not tickets; value is tracked on issues",
    "push": "commits carry no value state",
    "registry_package": "packages carry no value state",
    "release": "releases are not iterations here; use milestones or a Projects iteration field",
    "repository": "repository settings carry no value state",
    "repository_dispatch": "custom dispatches carry no value state",
    "repository_import": "repository imports carry no value state",
    "repository_vulnerability_alert": "security alerts are not tickets; tag the issue that tracks the fix instead",
    "security_advisory": "security advisories are not tickets",
    "sponsorship": "sponsorships carry no value state",
    "star": "stars carry no value state",
    "status": "commit statuses carry no value state",
    "team": "teams carry no value state",
    "team_add": "teams carry no value state",
    "watch": "stars carry no value state",
    "workflow_dispatch": "CI runs are not tracker work items",
    "workflow_job": "CI runs are not tracker work items",
    "workflow_run": "CI runs are not tracker work items",
}

# Actions of handled events that are deliberately not acted on.
IGNORED_ACTIONS: dict[tuple[str, str], str] = {
    ("issues", "assigned"): "assignees are not value state",
    ("issues", "unassigned"): "assignees are not value state",
    ("issues", "locked"): "conversation locking is not value state",
    ("issues", "unlocked"): "conversation locking is not value state",
    ("issues", "pinned"): "pinning is not value state",
    ("issues", "unpinned"): "pinning is not value state",
    ("issue_comment", "edited"): "a check-in answer counts as first posted; edits would rewrite history",
    ("issue_comment", "deleted"): "answers already recorded stay in the value log; nothing to apply",
    ("projects_v2_item", "created"): "adding an item to a project does not place it in an iteration",
    ("projects_v2_item", "archived"): "archiving an item does not change its iteration",
    ("projects_v2_item", "restored"): "restoring an item does not change its iteration",
    ("projects_v2_item", "converted"): "a draft became an issue; its iteration arrives as an edit",
    ("projects_v2_item", "reordered"): "order within a project is not value state",
    ("projects_v2_item", "deleted"): "removing an item from a project; its issue stays as it is",
}

_TICKET_KINDS = {
    "opened": Kind.TICKET_CREATED,
    "edited": Kind.TICKET_UPDATED,
    "closed": Kind.TICKET_CLOSED,
    "reopened": Kind.TICKET_REOPENED,
    "deleted": Kind.TICKET_DELETED,
    "typed": Kind.TICKET_UPDATED,
    "untyped": Kind.TICKET_UPDATED,
}
_MILESTONE_KINDS = {
    "created": Kind.ITERATION_CREATED,
    "edited": Kind.ITERATION_UPDATED,
    "opened": Kind.ITERATION_STARTED,
    "closed": Kind.ITERATION_CLOSED,
    "deleted": Kind.ITERATION_DELETED,
}


def normalise(identity: Identity, payload: Mapping[str, Any]) -> list[Event] | Ignored:
    """Raises PayloadError (naming the JSON path) when a field the service reads has the wrong type."""
    if identity.event in IGNORED:
        return Ignored(f"{identity.event}: {IGNORED[identity.event]}")
    action = identity.action or ""
    if (identity.event, action) in IGNORED_ACTIONS:
        return Ignored(f"{identity.event} {action}: {IGNORED_ACTIONS[(identity.event, action)]}")
    body = Node(payload)
    handler = _HANDLERS.get(identity.event)
    if handler is None:
        return Ignored(f"{identity.event}: not an event this service uses (stored for the record)")
    return handler(body, action)


def _actor(body: Node) -> str:
    sender = body.opt_obj("sender")
    login = sender.opt_text("login") if sender else None
    return f"github:{login}" if login else "github"


def repo_of_issue(issue: Node, body: Node) -> str:
    """`owner/repo` of an issue: from its own `repository_url` (sub-issues can live in other repositories)."""
    url = issue.opt_text("repository_url")
    if url and "/repos/" in url:
        return url.split("/repos/", 1)[1].strip("/")
    repository = body.opt_obj("repository")
    if repository is None:
        raise PayloadError(f"{issue.path}.repository_url is missing and there is no $.repository to say where it is")
    return repository.text("full_name")


_MILESTONE_STATES: dict[str, IterationState] = {"open": "active", "closed": "closed"}


def milestone_data(milestone: Node, repo: str) -> IterationReport:
    state = milestone.opt_text("state")
    return IterationReport(
        key=keys.github_milestone(repo, milestone.ident("number")),
        name=milestone.opt_text("title") or "",
        state=_MILESTONE_STATES.get(state or ""),
        goal=milestone.opt_text("description"),
        start_at=milestone.opt_time("created_at"),
        end_at=milestone.opt_time("due_on"),
        url=milestone.opt_text("html_url"),
    )


def ticket_data(issue: Node, repo: str, *, has_sub_issues: bool = False) -> TicketReport:
    """The issue as the pipeline stores it. Fields absent from the payload are left out, so state is not erased."""
    data: dict[str, Any] = {
        "title": issue.opt_text("title") or "",
        "description": issue.opt_text("body"),
        "url": issue.opt_text("html_url"),
        "node_id": issue.opt_text("node_id"),
    }
    state = issue.opt_text("state")
    if state in ("open", "closed"):
        data["state"] = state
    issue_type = issue.opt_obj("type")
    type_name = issue_type.opt_text("name") if issue_type else None
    data["issue_type"] = type_name
    labels = [label.text("name") for label in issue.objects("labels")] if issue.has("labels") else None
    data["labels"] = labels
    summary = issue.opt_obj("sub_issues_summary")
    children = (summary.opt_integer("total") or 0) if summary else 0
    data["is_epic"] = (
        has_sub_issues
        or children > 0
        or (type_name or "").lower() == EPIC_LABEL
        or any(label.lower() == EPIC_LABEL for label in labels or [])
    )
    milestone = issue.opt_obj("milestone")
    if "milestone" in issue.data:
        data["iterations"] = [milestone_data(milestone, repo)] if milestone else []
        data["iteration_scope"] = f"github:{repo}/milestone/"
    return TicketReport(**data)


def _ticket_event(kind: str, body: Node, issue: Node, **extra: bool) -> Event:
    repo = repo_of_issue(issue, body)
    return Event(
        kind=kind,
        source=SOURCE,
        subject=keys.github_issue(repo, issue.ident("number")),
        actor=_actor(body),
        occurred_at=issue.opt_time("updated_at"),
        data=ticket_data(issue, repo, **extra),
    )


def _issues(body: Node, action: str) -> list[Event] | Ignored:
    issue = body.obj("issue")
    snapshot_kind = _TICKET_KINDS.get(action, Kind.TICKET_UPDATED)
    if action == "transferred":
        # The issue now lives elsewhere (the new repository sends its own `opened`); here it is gone.
        snapshot_kind = Kind.TICKET_DELETED
    snapshot = _ticket_event(snapshot_kind, body, issue)
    result = [snapshot]
    if action in ("labeled", "unlabeled"):
        label = body.opt_obj("label")
        if label is not None:
            kind = Kind.LABEL_ADDED if action == "labeled" else Kind.LABEL_REMOVED
            result.append(_follow_up(snapshot, kind, LabelChange(label=label.text("name"))))
    elif action in ("milestoned", "demilestoned"):
        milestone = body.opt_obj("milestone") or issue.opt_obj("milestone")
        if milestone is not None:
            kind = Kind.ITERATION_JOINED if action == "milestoned" else Kind.ITERATION_LEFT
            iteration = milestone_data(milestone, repo_of_issue(issue, body))
            result.append(_follow_up(snapshot, kind, PlacementReport(iteration=iteration)))
    return result


def _follow_up(snapshot: Event, kind: str, data: Payload) -> Event:
    return Event(kind, snapshot.source, snapshot.subject, snapshot.actor, snapshot.occurred_at, data)


def _issue_comment(body: Node, action: str) -> list[Event] | Ignored:
    if action != "created":
        return Ignored(f"issue_comment {action or '(no action)'}: only new comments can be check-in answers")
    issue = body.obj("issue")
    if issue.has("pull_request"):
        return Ignored("issue_comment created on a pull request: pull requests are not tickets")
    comment = body.obj("comment")
    if is_own_comment(comment.opt_text("body")):
        return Ignored("a comment this service posted itself (it carries an outbox marker)")
    user = comment.opt_obj("user")
    login = user.opt_text("login") if user else None
    repo = repo_of_issue(issue, body)
    return [
        Event(
            kind=Kind.COMMENT_CREATED,
            source=SOURCE,
            subject=keys.github_issue(repo, issue.ident("number")),
            actor=f"github:{login}" if login else _actor(body),
            occurred_at=comment.opt_time("created_at"),
            data=Comment(
                comment_id=comment.ident("id"),
                author=login,
                body=comment.opt_text("body") or "",
                url=comment.opt_text("html_url"),
            ),
        )
    ]


def _milestone(body: Node, action: str) -> list[Event] | Ignored:
    kind = _MILESTONE_KINDS.get(action)
    if kind is None:
        return Ignored(f"milestone {action or '(no action)'}: not an iteration change")
    milestone = body.obj("milestone")
    repo = body.obj("repository").text("full_name")
    data = milestone_data(milestone, repo)
    if kind == Kind.ITERATION_DELETED:
        data = data.model_copy(update={"state": "deleted"})
    return [Event(kind, SOURCE, data.key, _actor(body), milestone.opt_time("updated_at"), data)]


def _sub_issues(body: Node, action: str) -> list[Event] | Ignored:
    if action not in ("sub_issue_added", "sub_issue_removed", "parent_issue_added", "parent_issue_removed"):
        return Ignored(f"sub_issues {action or '(no action)'}: not a parent/child change")
    parent, child = body.obj("parent_issue"), body.obj("sub_issue")
    added = action.endswith("_added")
    # A GitHub issue with sub-issues is an epic (DESIGN.md), so the parent's snapshot says so when one is added.
    parent_event = _ticket_event(Kind.TICKET_UPDATED, body, parent, has_sub_issues=added)
    child_event = _ticket_event(Kind.TICKET_UPDATED, body, child)
    kind = Kind.EPIC_LINKED if added else Kind.EPIC_UNLINKED
    link = Event(
        kind, SOURCE, child_event.subject, _actor(body), child_event.occurred_at, EpicChange(epic=parent_event.subject)
    )
    return [parent_event, child_event, link]


def _projects_v2_item(body: Node, action: str) -> list[Event] | Ignored:
    if action != "edited":
        return Ignored(f"projects_v2_item {action or '(no action)'}: only iteration field edits move work")
    item = body.obj("projects_v2_item")
    changes = body.opt_obj("changes")
    field = changes.opt_obj("field_value") if changes else None
    if field is None or field.opt_text("field_type") != "iteration":
        return Ignored("projects_v2_item edited: not an iteration field change")
    if item.opt_text("content_type") != "Issue":
        return Ignored(f"projects_v2_item edited: the item is a {item.opt_text('content_type')}, not an issue")
    project = item.text("project_node_id")
    node_id = item.text("content_node_id")
    # GitHub names the issue only by node id here; the pipeline maps it to the ticket it has seen with that id.
    subject = keys.github_node(node_id)
    occurred = item.opt_time("updated_at")
    actor = _actor(body)
    result: list[Event] = []
    for side, kind in (("from", Kind.ITERATION_LEFT), ("to", Kind.ITERATION_JOINED)):
        value = field.opt_obj(side)
        if value is None:
            continue
        iteration = _project_iteration(project, value)
        if side == "to":
            result.append(Event(Kind.ITERATION_UPDATED, SOURCE, iteration.key, actor, None, iteration))
        placement = PlacementReport(iteration=iteration, node_id=node_id)
        result.append(Event(kind, SOURCE, subject, actor, occurred, placement))
    if not result:
        return Ignored("projects_v2_item edited: the iteration change names neither the old nor the new iteration")
    return result


def _project_iteration(project: str, value: Node) -> IterationReport:
    start = value.opt_text("start_date")
    duration = value.opt_integer("duration")
    start_at = parse_time(start, f"{value.path}.start_date") if start else None
    try:
        end_at = start_at + timedelta(days=duration) if start_at and duration is not None else None
    except OverflowError:
        raise PayloadError(f"{value.path}.duration of {duration} days ends after the year 9999") from None
    return IterationReport(
        key=keys.github_project_iteration(project, value.ident("id")),
        name=value.opt_text("title") or "",
        state=None,  # GitHub does not say; the dates do
        start_at=start_at,
        end_at=end_at,
    )


def _ping(body: Node, _action: str) -> list[Event] | Ignored:
    repository = body.opt_obj("repository")
    organization = body.opt_obj("organization")
    if repository is not None:
        name = repository.text("full_name")
    elif organization is not None:
        name = organization.text("login")
    else:
        sender = body.opt_obj("sender")
        name = (sender.opt_text("login") if sender else None) or "unknown"
    return [
        Event(
            kind=Kind.TRACKER_PINGED,
            source=SOURCE,
            subject=f"github:{name}",
            actor=_actor(body),
            data=Ping(tracker=name, hook_id=body.opt_ident("hook_id"), zen=body.opt_text("zen")),
        )
    ]


_HANDLERS = {
    "issues": _issues,
    "issue_comment": _issue_comment,
    "milestone": _milestone,
    "sub_issues": _sub_issues,
    "projects_v2_item": _projects_v2_item,
    "ping": _ping,
}
