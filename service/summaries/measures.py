"""Reading a hypothesis's `measure` block (JSON as stored): its numbers and dates, None where they are missing or
not what they should be, for the summary and the value case alike."""

from __future__ import annotations

from datetime import date
from typing import Any


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
