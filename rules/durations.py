"""Durations written the way people say them in packs: `30m`, `48h`, `7d`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`7d` -> 7 days; ValueError naming the accepted forms otherwise."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration; write a positive number and a unit, e.g. 30m, 48h, 7d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
