"""A burst of real GitHub deliveries for many tickets: each opened, labeled twice, edited and closed, in that order."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

from tests import deliveries

REPO = "city-council/permits"
FIRST_LABEL = "value:transparency"
LABELED = ("value-risk:privacy-security", "value:accessibility-inclusion")
# What the value log says about each ticket when its deliveries are applied in order (labels of the first snapshot
# count as added; the fixtures' milestone makes it join Sprint 37; rule entries left out).
EXPECTED_KINDS = [
    "ticket.created",
    "label.added",
    "iteration.joined",
    "label.added",
    "label.added",
    "ticket.updated",
    "ticket.closed",
]
EXPECTED_LABELS = [FIRST_LABEL, *LABELED]


def key(number: int) -> str:
    return f"github:{REPO}#{number}"


def _payload(kind: str, number: int, step: int, title: str, labels: list[str], **extra: Any) -> dict[str, Any]:
    payload = copy.deepcopy(deliveries.fixture("github", f"issues__{kind}"))
    issue = payload["issue"]
    issue["number"] = number
    issue["title"] = title
    issue["labels"] = [{"name": name} for name in labels]
    issue["html_url"] = f"https://github.com/{REPO}/issues/{number}"
    issue["state"] = "closed" if kind == "closed" else "open"
    # Each step is later on GitHub's clock: applied out of order, a step is judged stale and its entries go missing.
    issue["updated_at"] = f"2026-11-20T10:{step:02d}:00Z"
    payload.update(extra)
    return payload


def ticket_deliveries(number: int) -> list[dict[str, Any]]:
    """The five deliveries of one ticket, in the order GitHub sends them."""
    title, edited = f"Ticket {number}", f"Ticket {number}, edited"
    every = [FIRST_LABEL, *LABELED]
    return [
        _payload("opened", number, 0, title, [FIRST_LABEL]),
        _payload("labeled", number, 1, title, every[:2], label={"name": LABELED[0]}),
        _payload("labeled", number, 2, title, every, label={"name": LABELED[1]}),
        _payload("edited", number, 3, edited, every, changes={"title": {"from": title}}),
        _payload("closed", number, 4, edited, every),
    ]


def interleaved(tickets: range, window: int = 10, seed: int = 11) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every ticket's deliveries, each ticket's in its order, mixed with those of the `window` tickets worked on at
    the same time: one ticket's deliveries lie a few dozen apart, so they land in the batches of different workers."""
    pending = {number: ticket_deliveries(number) for number in tickets}
    rng = random.Random(seed)
    while pending:
        number = rng.choice(sorted(pending)[:window])
        yield number, pending[number].pop(0)
        if not pending[number]:
            del pending[number]
