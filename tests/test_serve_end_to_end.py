"""A tracker pointed at a running `pvm serve`: signed deliveries over HTTP, understood end to end via the API.

This is the issue's "done when" as a user would check it: a real process on the embedded default, the real
webhook endpoint, the worker and clock threads, and the REST API read back with a token.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from typing import Any

import requests

from integrations.jira.webhook import signature as jira_signature
from tests import deliveries
from tests.conftest import JIRA_SECRET
from tests.processes import free_port, process_env, run, start, stop, wait_healthy

EPIC, STORY, SPRINT = "jira:PERM-12", "jira:PERM-14", "jira:sprint/37"
STORY_CREATED = "issue_created__story"


def _send_jira(base: str, name: str) -> requests.Response:
    body = deliveries.fixture_path("jira", name).read_bytes()
    headers = {
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        "X-Hub-Signature": jira_signature(body, JIRA_SECRET),
        "Content-Type": "application/json",
    }
    return requests.post(f"{base}/webhooks/jira", data=body, headers=headers, timeout=10)


def _until(fetch, ready, timeout: float = 60) -> Any:
    """Poll the API until the worker thread has processed what was sent."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_jira_sprint_epic_and_story_appear_in_the_api(tmp_path) -> None:
    env = process_env(tmp_path, PVM_JIRA_WEBHOOK_SECRET=JIRA_SECRET, PVM_OUTBOUND="record")
    assert run(["pvm", "db", "upgrade"], env).returncode == 0
    token = run(["pvm", "token", "create", "--role", "auditor", "--name", "audit"], env).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["pvm", "serve", "--port", str(port)], env)
    try:
        wait_healthy(f"{base}/healthz", server)
        for name in ("sprint_created__minimal", "sprint_started__sprint37", "issue_created__epic", STORY_CREATED):
            assert _send_jira(base, name).status_code == 202
        unsigned = requests.post(f"{base}/webhooks/jira", json={"webhookEvent": "jira:issue_created"}, timeout=10)
        assert unsigned.status_code == 401

        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        # Deliveries of different subjects may be processed in any order (each subject's in order of receipt), so
        # wait until all four are done, not until the first sign of the story.
        done = _until(
            lambda: api.get(f"{base}/api/v1/deliveries", timeout=10).json()["items"],
            lambda items: len(items) == 4 and all(item["status"] == "processed" for item in items),
        )
        assert [item["status"] for item in done] == ["processed"] * 4
        epic_url = f"{base}/api/v1/epics/{urllib.parse.quote(EPIC, safe='')}"
        epic = api.get(epic_url, timeout=10).json()
        assert epic["phase"] == "during"  # its story is in the running sprint
        [story] = epic["tickets"]
        assert story["key"] == STORY
        assert {label["dimension"] for label in story["value_labels"]} == {"transparency", "privacy-security", None}

        iteration = api.get(f"{base}/api/v1/iterations/{urllib.parse.quote(SPRINT, safe='')}", timeout=10).json()
        assert iteration["state"] == "active"

        kinds = {entry["kind"] for entry in api.get(f"{base}/api/v1/log?limit=500", timeout=10).json()["items"]}
        assert {"iteration.started", "label.added", "label.unknown", "epic.linked", "iteration.joined"} <= kinds
        assert {"hypothesis.created", "rule.fired", "token.created"} <= kinds

        deliveries_seen = api.get(f"{base}/api/v1/deliveries", timeout=10).json()["items"]
        assert [d["status"] for d in deliveries_seen] == ["processed"] * 4
        replies = api.get(f"{base}/api/v1/outbox", timeout=10).json()["items"]
        assert any("value:transparancy" in item["body"]["text"] and item["status"] == "recorded" for item in replies)
        assert api.get(f"{base}/api/v1/log/verify", timeout=10).json()["ok"] is True
    finally:
        code, err = stop(server)
    assert code == 0, err
