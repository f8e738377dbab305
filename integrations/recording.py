"""A recording TrackerClient: remembers every action instead of sending it (dry run, tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordedCall:
    action: str  # "comment" | "add_label" | "remove_label"
    target: str
    payload: str  # the comment text (marker included) or the label name


@dataclass
class RecordingClient:
    """Acts like a tracker that accepts everything; `calls` lists what would have been sent, in order.

    `keep` bounds `calls` to the newest that many: a dry-run worker lives for weeks and every body is in the
    outbox table anyway, so an unbounded list would only grow."""

    tracker: str
    calls: list[RecordedCall] = field(default_factory=list)
    keep: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        if self.keep is not None and len(self.calls) > self.keep:
            del self.calls[: len(self.calls) - self.keep]

    def comment(self, target: str, body: str) -> str:
        with self._lock:
            self._record(RecordedCall("comment", target, body))
            return f"recorded-{len(self.calls)}"

    def find_comment(self, target: str, marker: str) -> str | None:
        with self._lock:
            for number, call in enumerate(self.calls, start=1):
                if call.action == "comment" and call.target == target and marker in call.payload:
                    return f"recorded-{number}"
        return None

    def add_label(self, target: str, label: str) -> None:
        with self._lock:
            self._record(RecordedCall("add_label", target, label))

    def remove_label(self, target: str, label: str) -> None:
        with self._lock:
            self._record(RecordedCall("remove_label", target, label))

    def comments_on(self, target: str) -> list[str]:
        return [c.payload for c in self.calls if c.action == "comment" and c.target == target]
