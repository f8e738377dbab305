"""From a delivery's body to checked domain events: the same steps at intake and in the worker.

Intake refuses (400) what the worker could not process: the body is read with the limits of `service.untrusted`,
the tracker's normaliser runs, and every event it makes is checked: a kind a tracker may report, with its typed
payload, within the state's limits (`service.domain.payloads`). The worker repeats these steps on the stored body,
so an acknowledged delivery always gets past them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from integrations.base import Identity, Integration
from integrations.payload import PayloadError
from service.domain import limits, payloads
from service.domain.events import Event, Ignored
from service.untrusted import Refused, read_json


class Unacceptable(ValueError):
    """A delivery the service cannot take as it is; the message says what is wrong (the answer is 400)."""


def read(body: bytes) -> dict[str, Any]:
    try:
        payload = read_json(body)
    except Refused as exc:
        raise Unacceptable(f"the body is refused: {exc}") from None
    if not isinstance(payload, dict):
        raise Unacceptable("the body is JSON but not an object; tracker deliveries are JSON objects")
    return payload


def check_identity(identity: Identity) -> None:
    """The event name, action and delivery id are stored in bounded columns and written into log lines."""
    for what, value, limit in (
        ("the event name", identity.event, limits.EVENT_NAME),
        ("the action", identity.action, limits.EVENT_NAME),
        ("the delivery id", identity.delivery_id, limits.DELIVERY_ID),
    ):
        if value is None:
            continue
        if len(value) > limit:
            raise Unacceptable(f"{what} is {len(value)} characters long; at most {limit} are accepted")
        if not value.isprintable():
            raise Unacceptable(f"{what} {value[:limit]!r} holds control characters; trackers send plain names")


def events_of(integration: Integration, identity: Identity, payload: dict[str, Any]) -> list[Event] | Ignored:
    """The domain events of a delivery, each checked, or Ignored with the reason."""
    try:
        outcome = integration.normalise(identity, payload)
    except PayloadError as exc:
        raise Unacceptable(f"the payload is malformed: {exc}") from None
    except ValidationError as exc:  # a payload model refused a value: an identifier over its limit, say
        raise Unacceptable(f"the payload cannot be stored: {exc.title}: {payloads.problems(exc)}") from None
    if isinstance(outcome, Ignored):
        return outcome
    for event in outcome:
        try:
            payloads.check(event)
        except payloads.EventInvalid as exc:
            raise Unacceptable(f"the payload cannot be stored: {exc}") from None
    return outcome


def subject_of(outcome: list[Event] | Ignored) -> str | None:
    """The partition key of a delivery: the subject of its first event, the ticket, epic or iteration it changes
    (a sub-issue change names the parent first, a Projects item the issue's node id). None for ignored ones."""
    if isinstance(outcome, Ignored) or not outcome:
        return None
    return outcome[0].subject
