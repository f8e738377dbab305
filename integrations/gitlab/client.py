"""Acting on GitLab through python-gitlab: comments (notes) with a marker, labels, the label catalogue.

The only module importing python-gitlab. Its waiting is off for every call: `obey_rate_limit=False` (it would
sleep on 429 and re-send) and no transient retries; the outbox retries, paces writes and checks markers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gitlab
import requests
from gitlab.v4.objects import Project, ProjectIssue

from integrations.failures import RateLimited, Rejected, TrackerFailure, Transient, Unauthorised
from integrations.transport import transport_failure
from service.config import Settings

TRACKER = "gitlab"
NO_WAITING: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False, "max_retries": 0}
RATE_LIMIT_WAIT = 60.0  # python-gitlab's errors do not carry Retry-After; GitLab's window is a minute


class GitlabClient:
    """`TrackerClient` for issue keys `gitlab:group/project#5`."""

    tracker = TRACKER

    def __init__(self, gl: gitlab.Gitlab) -> None:
        self._gl = gl

    def comment(self, target: str, body: str) -> str:
        with _failures(write=True):
            note = self._issue(target).notes.create({"body": body}, **NO_WAITING)
            return str(note.get_id())

    def find_comment(self, target: str, marker: str) -> str | None:
        with _failures(write=False):
            for note in self._issue(target).notes.list(iterator=True, per_page=100, **NO_WAITING):
                if marker in (getattr(note, "body", "") or ""):
                    return str(note.get_id())
        return None

    def add_label(self, target: str, label: str) -> None:
        self._update(target, {"add_labels": label})

    def remove_label(self, target: str, label: str) -> None:
        self._update(target, {"remove_labels": label})  # removing an absent label is a no-op for GitLab

    def ensure_label(self, repo: str, name: str, colour: str, description: str) -> str:
        """Create or update one project label; returns "created", "updated" or "unchanged"."""
        wanted = f"#{colour.lstrip('#').lower()}"
        with _failures(write=True):
            labels = self._project(repo).labels
            try:
                existing = labels.get(name, **NO_WAITING)
            except gitlab.exceptions.GitlabGetError as exc:
                if exc.response_code != 404:
                    raise
                labels.create({"name": name, "color": wanted, "description": description}, **NO_WAITING)
                return "created"
            if (str(existing.color).lower(), existing.description or "") == (wanted, description):
                return "unchanged"
            labels.update(name, {"color": wanted, "description": description}, **NO_WAITING)
            return "updated"

    def _update(self, target: str, change: dict[str, str]) -> None:
        repo, iid = parse_issue_key(target)
        with _failures(write=True):
            self._project(repo).issues.update(iid, change, **NO_WAITING)

    def _project(self, repo: str) -> Project:
        return self._gl.projects.get(repo, lazy=True)  # lazy: no request, the path is URL-encoded as the id

    def _issue(self, target: str) -> ProjectIssue:
        repo, iid = parse_issue_key(target)
        return self._project(repo).issues.get(iid, lazy=True)


@contextmanager
def _failures(*, write: bool) -> Iterator[None]:
    try:
        yield
    except TrackerFailure:
        raise
    except gitlab.exceptions.GitlabError as exc:
        raise translate(exc, write=write) from None
    except requests.RequestException as exc:
        raise transport_failure(exc, TRACKER, write=write) from None


def parse_issue_key(target: str) -> tuple[str, int]:
    """`gitlab:group/sub/project#5` -> ("group/sub/project", 5)."""
    prefix, _, rest = target.partition(":")
    repo, _, iid = rest.rpartition("#")
    if prefix != TRACKER or "/" not in repo or not iid.isdigit():
        raise Rejected(f"{target!r} is not a GitLab issue key like gitlab:group/project#5")
    return repo, int(iid)


def translate(exc: gitlab.exceptions.GitlabError, *, write: bool) -> TrackerFailure:
    status = exc.response_code or 0
    message = str(exc.error_message or "")[:300]
    if status == 429:
        return RateLimited(
            "gitlab: rate limited (HTTP 429); waiting before the next write", retry_after=RATE_LIMIT_WAIT
        )
    if status == 401:
        return Unauthorised(f"gitlab: token refused (HTTP 401 {message}); check PVM_GITLAB_TOKEN")
    if status == 403:
        return Unauthorised(
            f"gitlab: permission denied (HTTP 403 {message}); PVM_GITLAB_TOKEN needs the api scope and at least "
            "the Reporter role on the project"
        )
    if status in (400, 404, 410, 422):
        return Rejected(f"gitlab: HTTP {status} {message}; the issue or label does not exist or is not writable")
    if status >= 500 or status in (408, 409) or status == 0:
        return Transient(
            f"gitlab: HTTP {status} {message}; will retry", maybe_sent=write and (status >= 500 or status == 0)
        )
    return Rejected(f"gitlab: HTTP {status} {message}")


def make_client(settings: Settings) -> GitlabClient | str:
    if not settings.gitlab_token:
        return f"GitLab is not configured: set PVM_GITLAB_TOKEN (and PVM_GITLAB_URL unless {settings.gitlab_url})"
    gl = gitlab.Gitlab(
        settings.gitlab_url,
        private_token=settings.gitlab_token,
        timeout=settings.tracker_timeout,
        retry_transient_errors=False,
    )
    return GitlabClient(gl)
