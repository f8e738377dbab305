"""Writing outbox rows. The dispatcher (in the worker) sends them; nothing here talks to the network."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.storage.models import OutboxItem


def enqueue(
    session: Session,
    *,
    tracker: str,
    action: str,
    target: str,
    body: dict[str, Any],
    cause: str | None = None,
) -> OutboxItem:
    """Queue one action in the caller's transaction, so it exists exactly when the change that caused it does.

    tracker: "github" | "jira" | "gitlab" | "email" | "webhook"; action: e.g. "comment", "add_label";
    target: the key acted on (`github:acme/portal#3`); body: what will be sent; cause: e.g. `delivery:12`.
    """
    item = OutboxItem(tracker=tracker, action=action, target=target, body=body, cause=cause, status="pending")
    session.add(item)
    session.flush()
    return item
