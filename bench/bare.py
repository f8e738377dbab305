"""The yardstick for `bench.ingest`: a Flask route that only answers 202, served with the same gunicorn settings."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/github")
def receive() -> tuple[dict[str, str], int]:
    return {"message": "stored"}, 202


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
