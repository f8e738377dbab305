"""Stand-ins for the outside world in outbox tests: a controllable clock and a stateful GitHub issue API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import responses
from requests import PreparedRequest

API = "https://api.github.com"
# PyGithub puts the port in every URL it requests.
WIRE = "https://api.github.com:443"


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# A fault decides what GitHub does with one POST: ("before"|"after", answer). "after" means GitHub stored the
# comment and then the answer went wrong (timeout after accept, 5xx from a proxy, connection reset).
Fault = tuple[str, Callable[[], tuple[int, dict[str, str], Any]]]


class PostsComments:
    """A tracker issue that stores posted comments, with faults injected before or after it stores one."""

    comments: list[dict[str, Any]]
    post_faults: list[Fault]
    posts: int

    def _comment(self, body: str) -> dict[str, Any]:
        raise NotImplementedError  # each stand-in shapes the comment as its tracker does

    def _post_comment(self, request: PreparedRequest) -> Any:
        self.posts += 1
        body = json.loads(request.body or b"{}")["body"]
        fault = self.post_faults.pop(0) if self.post_faults else None
        if fault and fault[0] == "before":
            return fault[1]()
        comment = self._comment(body)
        self.comments.append(comment)
        if fault:
            return fault[1]()
        return 201, {}, json.dumps(comment)


@dataclass
class FakeGithubIssue(PostsComments):
    """One issue's comments and labels, as GitHub's REST API keeps them."""

    repo: str = "acme/portal"
    number: int = 34
    comments: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    post_faults: list[Fault] = field(default_factory=list)
    posts: int = 0
    next_id: int = 1_000_001

    @property
    def base(self) -> str:
        return f"{WIRE}/repos/{self.repo}/issues/{self.number}"

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, f"{self.base}/comments", callback=self._post_comment)
        mock.add_callback(
            responses.GET, re.compile(re.escape(f"{self.base}/comments") + r"(\?.*)?$"), callback=self._list
        )
        mock.add_callback(responses.POST, f"{self.base}/labels", callback=self._add_labels)
        mock.add_callback(responses.DELETE, re.compile(re.escape(f"{self.base}/labels/") + ".+"), callback=self._del)

    def _comment(self, body: str) -> dict[str, Any]:
        cid, self.next_id = self.next_id, self.next_id + 1
        return {
            "id": cid,
            "node_id": f"IC_kwDO{cid}",
            "url": f"{API}/repos/{self.repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{self.repo}/issues/{self.number}#issuecomment-{cid}",
            "issue_url": f"{API}/repos/{self.repo}/issues/{self.number}",
            "body": body,
            "user": {"login": "pvm-bot[bot]", "id": 9001, "type": "Bot"},
            "created_at": "2026-11-28T12:00:00Z",
            "updated_at": "2026-11-28T12:00:00Z",
            "author_association": "NONE",
        }

    def _list(self, request: PreparedRequest) -> Any:
        return 200, {}, json.dumps(self.comments)

    def _add_labels(self, request: PreparedRequest) -> Any:
        for label in json.loads(request.body or b"[]"):
            if label not in self.labels:
                self.labels.append(label)
        return 200, {}, json.dumps([_label(name) for name in self.labels])

    def _del(self, request: PreparedRequest) -> Any:
        name = str(request.url).rsplit("/", 1)[1].replace("%3A", ":")
        if name not in self.labels:
            return (
                404,
                {},
                json.dumps({"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest"}),
            )
        self.labels.remove(name)
        return 200, {}, json.dumps([_label(n) for n in self.labels])


def _label(name: str) -> dict[str, Any]:
    return {"id": abs(hash(name)) % 10**9, "name": name, "color": "ededed", "default": False, "description": None}


def github_error(status: int, message: str, **headers: str) -> Callable[[], tuple[int, dict[str, str], Any]]:
    return lambda: (
        status,
        headers,
        json.dumps({"message": message, "documentation_url": "https://docs.github.com/rest"}),
    )


def raising(exc: Exception) -> Callable[[], tuple[int, dict[str, str], Any]]:
    return lambda: (0, {}, exc)
