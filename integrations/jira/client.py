"""Acting on Jira through the `jira` library: comments with a marker, labels.

The only module importing `jira`. Authentication:
- Jira Cloud: PVM_JIRA_EMAIL + PVM_JIRA_API_TOKEN (an Atlassian API token), sent as HTTP Basic.
- Jira Data Center / Server: PVM_JIRA_API_TOKEN alone (a personal access token), sent as `Authorization: Bearer`.

The library's own retry is off (`max_retries=0`): it sleeps 10*2^n s and re-sends POSTs after a connection error,
which can post a comment twice. The outbox retries instead, looking for the comment's marker first. A timeout is
always set (the library's default is none). The constructor's `serverInfo` call is kept: without it the library
does not know it talks to Cloud and would search through the removed `/rest/api/2/search`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from jira import JIRA, JIRAError

from integrations.failures import RateLimited, Rejected, TrackerFailure, Transient, Unauthorised
from integrations.transport import CONNECT_TIMEOUT, retry_after_seconds, transport_failure
from service.config import Settings

TRACKER = "jira"
COMMENT_PAGE = 100


class JiraClient:
    """`TrackerClient` for issue keys `jira:PROJ-12`. Connects (serverInfo) on first use, not at construction."""

    tracker = TRACKER

    def __init__(self, connect: Callable[[], JIRA], credential: str) -> None:
        self._connect = connect
        self._jira: JIRA | None = None
        self._credential = credential

    def comment(self, target: str, body: str) -> str:
        with self._failures(write=True):
            return str(self._client().add_comment(parse_issue_key(target), body).id)

    def find_comment(self, target: str, marker: str) -> str | None:
        key = parse_issue_key(target)
        start = 0
        with self._failures(write=False):
            while True:
                page = self._client().comments(key, start_at=start, max_results=COMMENT_PAGE)
                for comment in page:
                    if marker in (getattr(comment, "body", "") or ""):
                        return str(comment.id)
                if len(page) < COMMENT_PAGE:
                    return None
                start += len(page)

    def add_label(self, target: str, label: str) -> None:
        self._change_label(target, "add", label)

    def remove_label(self, target: str, label: str) -> None:
        self._change_label(target, "remove", label)

    def _change_label(self, target: str, verb: str, label: str) -> None:
        if " " in label:
            raise Rejected(f"jira: labels cannot contain spaces, got {label!r}")
        with self._failures(write=True):
            issue = self._client().issue(parse_issue_key(target), fields="labels")
            present = label in (getattr(issue.fields, "labels", None) or [])
            if present == (verb == "add"):
                return  # already as wanted
            # `update` (not `fields`): Jira applies the add/remove itself, so a concurrent edit is not overwritten.
            issue.update(update={"labels": [{verb: label}]})

    def _client(self) -> JIRA:
        if self._jira is None:
            self._jira = self._connect()
        return self._jira

    @contextmanager
    def _failures(self, *, write: bool) -> Iterator[None]:
        try:
            yield
        except TrackerFailure:
            raise
        except JIRAError as exc:
            # Never str(exc): the library's text includes the request headers, i.e. the credentials.
            raise translate(exc, self._credential, write=write) from None
        except requests.RequestException as exc:
            raise transport_failure(exc, TRACKER, write=write) from None


def parse_issue_key(target: str) -> str:
    """`jira:PROJ-12` -> `PROJ-12`."""
    prefix, _, key = target.partition(":")
    project, dash, number = key.rpartition("-")
    if prefix != TRACKER or not dash or not project or not number.isdigit():
        raise Rejected(f"{target!r} is not a Jira issue key like jira:PROJ-12")
    return key


def translate(exc: JIRAError, credential: str, *, write: bool) -> TrackerFailure:
    status = exc.status_code or 0
    text = (exc.text or "").strip()[:300]
    headers = exc.response.headers if exc.response is not None else {}
    retry_after = retry_after_seconds(headers.get("Retry-After"))
    if status == 429:
        return RateLimited(
            "jira: rate limited (HTTP 429); waiting before the next write", retry_after=retry_after or 60.0
        )
    if status == 401:
        return Unauthorised(f"jira: credentials refused (HTTP 401); check {credential}")
    if status == 403:
        return Unauthorised(
            f"jira: permission denied (HTTP 403 {text}); the account behind {credential} needs "
            "'Add comments' and 'Edit issues' in this project"
        )
    if status in (400, 404, 410):
        return Rejected(f"jira: HTTP {status} {text}; the issue does not exist or the change is not allowed")
    if status >= 500 or status in (408, 409) or status == 0:
        return Transient(
            f"jira: HTTP {status} {text}; will retry",
            maybe_sent=write and (status >= 500 or status == 0),
            retry_after=retry_after,
        )
    return Rejected(f"jira: HTTP {status} {text}")


def make_client(settings: Settings) -> JiraClient | str:
    """Cloud with PVM_JIRA_EMAIL set, Data Center (bearer personal access token) without; or why there is none."""
    missing = [
        name
        for name, value in (("PVM_JIRA_URL", settings.jira_url), ("PVM_JIRA_API_TOKEN", settings.jira_api_token))
        if not value
    ]
    if missing:
        return (
            f"Jira is not configured: set {' and '.join(missing)} (with PVM_JIRA_EMAIL for Jira Cloud; "
            "without it the token is sent as a Data Center personal access token)"
        )
    url, token, email = str(settings.jira_url), str(settings.jira_api_token), settings.jira_email
    common = {"timeout": (CONNECT_TIMEOUT, settings.tracker_timeout), "max_retries": 0, "get_server_info": True}
    if email:
        return JiraClient(
            lambda: JIRA(server=url, basic_auth=(email, token), **common),  # type: ignore[arg-type]
            "PVM_JIRA_EMAIL and PVM_JIRA_API_TOKEN",
        )
    return JiraClient(
        lambda: JIRA(server=url, token_auth=token, **common),  # type: ignore[arg-type]
        "PVM_JIRA_API_TOKEN (a Data Center personal access token; for Jira Cloud also set PVM_JIRA_EMAIL)",
    )
