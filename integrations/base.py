"""What every tracker integration provides. The service only ever talks to trackers through this shape.

An integration is registered under the entry-point group `pvm.integrations` (see pyproject.toml); GitHub, Jira
and GitLab register exactly as a third-party package would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from service.config import Settings
from service.domain.events import Event, Ignored

# Every comment this service posts carries this token (service/outbox/markers.py). A tracker echoes our own
# comments back as webhooks; integrations ignore those, so the service never reacts to itself.
OUTBOX_MARKER = "pvm-outbox:"


def is_own_comment(text: str | None) -> bool:
    return bool(text) and OUTBOX_MARKER in str(text)


class WebhookError(ValueError):
    """A delivery that cannot be accepted; `status` is the HTTP answer (400, 401, ...), the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Identity:
    """What the inbox needs to store a delivery before anything else is done with it."""

    event: str  # GitHub: X-GitHub-Event; Jira: body webhookEvent; GitLab: X-Gitlab-Event
    delivery_id: str | None  # the tracker's own delivery id; None -> the inbox uses a hash of the body
    action: str | None = None  # sub-type, e.g. GitHub `action`, Jira `issue_event_type_name`


class TrackerClient(Protocol):
    """Acting back on a tracker. Implementations: the real one per tracker and a recording one (dry run, tests)."""

    tracker: str

    def comment(self, target: str, body: str) -> str:
        """Post a comment on an issue/epic key; returns the tracker's comment id."""
        ...

    def find_comment(self, target: str, marker: str) -> str | None:
        """The id of an existing comment on `target` containing `marker` (idempotent re-posting)."""
        ...

    def add_label(self, target: str, label: str) -> None: ...

    def remove_label(self, target: str, label: str) -> None: ...


# Headers arrive lower-cased; the body is the raw bytes (signatures are over bytes) and the parsed JSON object.
Verify = Callable[[Mapping[str, str], bytes, str], bool]
Identify = Callable[[Mapping[str, str], Mapping[str, Any]], Identity]
Normalise = Callable[[Identity, Mapping[str, Any]], "list[Event] | Ignored"]
MakeClient = Callable[[Settings], "TrackerClient | str"]  # a client, or why there is none (missing setting)


@dataclass(frozen=True)
class Integration:
    name: str  # "github": also the webhook path /webhooks/<name> and the key prefix
    secret_variable: str  # the environment variable holding the webhook secret, named in 503 answers
    secret: Callable[[Settings], str | None]
    verify: Verify
    identify: Identify
    normalise: Normalise
    make_client: MakeClient | None = None
    # The headers naming the event and the delivery (lower case): kept with the stored delivery besides the
    # client name and content type. Nothing else is kept (service/inbox/store.py says why).
    delivery_headers: tuple[str, ...] = ()
