"""The hidden marker each comment carries, and the exact request body an outbox row sends.

The marker names the outbox row (id plus creation time, so two installations posting to one repository cannot
mistake each other's comments). After an ambiguous failure the dispatcher searches the target's comments for it
before posting again.

- GitHub and GitLab (Markdown): an HTML comment, invisible when rendered: `<!-- pvm-outbox:42:20261128141106123456 -->`.
- Jira (wiki markup; Cloud converts it to ADF and back): an HTML comment would be shown as text, so the token is a
  small grey footer line, `{color:#97a0af}pvm-outbox:42:...{color}`. Only plain text survives Jira's conversions
  reliably; the search looks for the token itself, not the colour wrapper.
"""

from __future__ import annotations

from typing import Any

from integrations.base import OUTBOX_MARKER
from service.storage.models import OutboxItem

COMMENT_ACTIONS = ("comment", "post_summary")
LABEL_ACTIONS = ("add_label", "remove_label")
ACTIONS = (*COMMENT_ACTIONS, *LABEL_ACTIONS)
# Channels that are not trackers, and what they send: a check-in prompt or reminder to one person. Their rows hold
# only the prompt's id (`{"prompt": 12}`, target `prompt:12`); the message is rendered when it is sent.
CHANNELS = ("email", "webhook")
CHANNEL_ACTIONS = ("checkin_prompt", "checkin_reminder")


def token(item: OutboxItem) -> str:
    return f"{OUTBOX_MARKER}{item.id}:{item.created_at:%Y%m%d%H%M%S%f}"


def with_marker(tracker: str, text: str, marker: str) -> str:
    if tracker == "jira":
        return f"{text.rstrip()}\n\n{{color:#97a0af}}{marker}{{color}}"
    return f"{text.rstrip()}\n\n<!-- {marker} -->"


def rendered_body(item: OutboxItem) -> dict[str, Any]:
    """What is (or would be) sent for this row: comment text with its marker, the label, or for e-mail and webhook
    rows the prompt they send (a dry run adds what would have gone out, without the link or the address)."""
    body = dict(item.body or {})
    if item.action in COMMENT_ACTIONS and isinstance(body.get("text"), str):
        body["text"] = with_marker(item.tracker, body["text"], token(item))
    return body


def body_problem(item: OutboxItem) -> str | None:
    """Why this row's body cannot be sent (a programming error upstream), or None."""
    body = item.body or {}
    if item.tracker in CHANNELS:
        if item.action not in CHANNEL_ACTIONS:
            return f"unknown {item.tracker} action {item.action!r}; known: {', '.join(CHANNEL_ACTIONS)}"
        prompt = body.get("prompt")
        if not isinstance(prompt, int) or isinstance(prompt, bool) or item.target != f"prompt:{prompt}":
            return f"{item.action} needs body.prompt, the id of the prompt its target prompt:<id> names"
        return None
    if item.action not in ACTIONS:
        return f"unknown action {item.action!r}; known: {', '.join(ACTIONS)}"
    if item.action in COMMENT_ACTIONS and not (isinstance(body.get("text"), str) and body["text"].strip()):
        return f"{item.action} needs a non-empty body.text"
    if item.action in LABEL_ACTIONS and not (isinstance(body.get("label"), str) and body["label"].strip()):
        return f"{item.action} needs body.label"
    return None
