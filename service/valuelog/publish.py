"""Sending a signed checkpoint out of the building: files, an outbound webhook, a comment on a tracker issue.

Each copy held where the database's admins cannot write pins the history up to its size; a rewrite would then
need every copy rewritten too. A copy that cannot be sent is logged and tried with the next checkpoint; it never
stops the others.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.orm import Session

from service.address_guard import AddressRefused
from service.domain.keys import tracker_of
from service.outbox.queue import enqueue
from service.pinned_http import HttpFailure, PinnedHttp
from service.runtime import Runtime
from service.valuelog.checkpoint import SignedCheckpoint

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; charset=utf-8"  # what transparency logs serve checkpoints as


def publish(runtime: Runtime, session: Session, point: SignedCheckpoint) -> list[str]:
    """Every configured copy; returns where it went (for the clock's log line). The comment is queued in the
    caller's transaction, so it exists exactly when the checkpoint does."""
    settings = runtime.settings
    sent = [str(write_file(settings.instance_dir / "checkpoints" / f"value-log-{point.size}.note", point))]
    if settings.checkpoint_file:
        sent.append(str(write_file(settings.checkpoint_file, point)))
    if settings.checkpoint_issue:
        enqueue(
            session,
            tracker=tracker_of(settings.checkpoint_issue),
            action="comment",
            target=settings.checkpoint_issue,
            body={"text": comment_text(tracker_of(settings.checkpoint_issue), point)},
            cause=f"checkpoint:{point.size}",
        )
        sent.append(settings.checkpoint_issue)
    if settings.checkpoint_webhook_url:
        problem = post(PinnedHttp.from_settings(settings), settings.checkpoint_webhook_url, point)
        if problem:
            log.error("checkpoint %s was not posted to PVM_CHECKPOINT_WEBHOOK_URL: %s", point.size, problem)
        else:
            sent.append("PVM_CHECKPOINT_WEBHOOK_URL")
    return sent


def write_file(path: Path, point: SignedCheckpoint) -> Path:
    """Write the note whole or not at all (a reader never sees half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(point.note, encoding="utf-8")
    os.replace(partial, path)
    return path


def post(http: PinnedHttp, url: str, point: SignedCheckpoint) -> str | None:
    """None when the receiver took it (2xx); otherwise why not, without the URL's credentials."""
    try:
        answer = http.request("POST", url, body=point.note.encode(), headers={"Content-Type": CONTENT_TYPE})
    except (AddressRefused, HttpFailure) as exc:
        return str(exc)
    if not 200 <= answer.status < 300:
        return f"the receiver answered HTTP {answer.status}"
    return None


def comment_text(tracker: str, point: SignedCheckpoint) -> str:
    intro = (
        f"Value log checkpoint: {point.size} entries. This comment keeps a copy of the signed checkpoint outside "
        "the service's database; `pvm log verify --checkpoint` checks the log against it."
    )
    if tracker == "jira":
        return f"{intro}\n{{noformat}}\n{point.note}{{noformat}}"
    return f"{intro}\n\n```\n{point.note}```"
