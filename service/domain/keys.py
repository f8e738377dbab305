"""Tracker-qualified keys (DESIGN.md): tickets, epics and iterations are named the same way everywhere."""

from __future__ import annotations

_GITHUB_NODE = "github:node/"


def github_issue(repo_full_name: str, number: int | str) -> str:
    return f"github:{repo_full_name}#{number}"


def github_milestone(repo_full_name: str, number: int | str) -> str:
    return f"github:{repo_full_name}/milestone/{number}"


def github_node(node_id: str) -> str:
    """`github:node/<id>`: an issue GitHub names only by its GraphQL node id (Projects webhooks do)."""
    return f"{_GITHUB_NODE}{node_id}"


def github_node_id(key: str) -> str | None:
    """The node id in a `github:node/<id>` key; None for any other key."""
    return key[len(_GITHUB_NODE) :] if key.startswith(_GITHUB_NODE) else None


def github_project_iteration(project_node_id: str, iteration_id: str) -> str:
    return f"github:project/{project_node_id}/iteration/{iteration_id}"


def jira_issue(issue_key: str) -> str:
    return f"jira:{issue_key}"


def jira_sprint(sprint_id: int | str) -> str:
    return f"jira:sprint/{sprint_id}"


def gitlab_issue(project_path: str, iid: int | str) -> str:
    return f"gitlab:{project_path}#{iid}"


def gitlab_iteration(group_or_project: str, iteration_id: int | str) -> str:
    return f"gitlab:{group_or_project}/iteration/{iteration_id}"


def gitlab_milestone(project_path: str, milestone_id: int | str) -> str:
    return f"gitlab:{project_path}/milestone/{milestone_id}"


def tracker_of(key: str) -> str:
    """`github:acme/portal#3` -> `github`."""
    tracker, sep, _ = key.partition(":")
    if not sep or not tracker:
        raise ValueError(f"{key!r} is not a tracker-qualified key such as jira:PROJ-12 or github:owner/repo#34")
    return tracker


def project_of(ticket_key: str) -> str:
    """The project a ticket belongs to, as stakeholders' scopes name it: `github:owner/repo#34` ->
    `github:owner/repo`, `gitlab:group/project#5` -> `gitlab:group/project`, `jira:PRM-12` -> `jira:PRM`."""
    tracker, _, rest = ticket_key.partition(":")
    if "#" in rest:
        return f"{tracker}:{rest.split('#', 1)[0]}"
    return f"{tracker}:{rest.rsplit('-', 1)[0]}" if "-" in rest else ticket_key
