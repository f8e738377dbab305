"""The peer for `bench.ingest`: the `github-webhook` package (1.0.4), a Flask blueprint that verifies the signature,
parses the body and dispatches to a handler, and stores nothing. Installed with `pip install -e '.[bench]'`."""

from __future__ import annotations

import os

from flask import Flask
from github_webhook import Webhook

app = Flask(__name__)
webhook = Webhook(app, endpoint="/webhooks/github", secret=os.environ.get("PVM_GITHUB_WEBHOOK_SECRET", "bench-secret"))


@webhook.hook("issues")
def on_issues(data: dict[str, object]) -> None:
    """A handler that does nothing, so the peer's cost is its own: verify, parse, dispatch."""


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
