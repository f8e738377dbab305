"""GitHub and Jira stand-ins served over real HTTP on 127.0.0.1, for worker processes that cannot use `responses`."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

GITHUB_COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
JIRA_COMMENTS = re.compile(r"^/rest/api/2/issue/([A-Z][A-Z0-9]*-\d+)/comment$")


@dataclass
class TrackerState:
    """What the stand-in tracker holds; `slow_posts` answers that many comment POSTs only after `delay` seconds
    (the comment is stored first: the client times out on a request the tracker did accept)."""

    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    posts: int = 0
    slow_posts: int = 0
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all_comments(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c for comments in self.comments.values() for c in comments]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout case); the comment is stored all the same

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        state, path = self.server.state, urlsplit(self.path).path
        with state.lock:
            state.requests.append(f"GET {path}")
        if path == "/rest/api/2/serverInfo":
            self._send(
                200,
                {
                    "baseUrl": self.server.url,
                    "version": "1001.0.0-SNAPSHOT",
                    "versionNumbers": [1001, 0, 0],
                    "deploymentType": "Cloud",
                    "buildNumber": 100288,
                    "serverTitle": "Jira",
                },
            )
            return
        for pattern, jira in ((GITHUB_COMMENTS, False), (JIRA_COMMENTS, True)):
            match = pattern.match(path)
            if match:
                key = "#".join(match.groups())
                with state.lock:
                    comments = list(state.comments.get(key, []))
                if jira:
                    self._send(200, {"startAt": 0, "maxResults": 100, "total": len(comments), "comments": comments})
                else:
                    self._send(200, comments)
                return
        self._send(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        state, path = self.server.state, urlsplit(self.path).path
        with state.lock:
            state.requests.append(f"POST {path}")
        for pattern in (GITHUB_COMMENTS, JIRA_COMMENTS):
            match = pattern.match(path)
            if match:
                body = self._body()["body"]
                with state.lock:
                    state.posts += 1
                    comments = state.comments.setdefault("#".join(match.groups()), [])
                    comment = {"id": 1_000_000 + state.posts, "body": body, "user": {"login": "pvm-bot"}}
                    comments.append(comment)
                    slow = state.slow_posts > 0
                    state.slow_posts -= 1 if slow else 0
                if slow:
                    time.sleep(state.delay)
                self._send(201, {**comment, "id": str(comment["id"])} if pattern is JIRA_COMMENTS else comment)
                return
        self._send(404, {"message": "Not Found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: TrackerState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class LocalTracker:
    """`with LocalTracker() as tracker:` serves until the block ends; `tracker.url`, `tracker.state`."""

    def __init__(self, state: TrackerState | None = None) -> None:
        self.state = state or TrackerState()
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> LocalTracker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
