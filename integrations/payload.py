"""Typed reads from vendor JSON: a value of the wrong type names its path instead of crashing with a TypeError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class PayloadError(ValueError):
    """The payload has a value of the wrong type (or lacks a required one); the message names the JSON path."""


def _describe(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, float) else type(value).__name__)


class Node:
    """A JSON object read through its path, so every error says where in the payload the problem is."""

    def __init__(self, data: Mapping[str, Any], path: str = "$") -> None:
        self.data = data
        self.path = path

    def _at(self, name: str) -> str:
        return f"{self.path}.{name}"

    def _fail(self, name: str, wanted: str) -> PayloadError:
        found = _describe(self.data.get(name))
        return PayloadError(f"{self._at(name)} should be {wanted}, found {found}")

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def obj(self, name: str) -> Node:
        value = self.data.get(name)
        if not isinstance(value, Mapping):
            raise self._fail(name, "an object")
        return Node(value, self._at(name))

    def opt_obj(self, name: str) -> Node | None:
        return None if self.data.get(name) is None else self.obj(name)

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise self._fail(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        return None if self.data.get(name) is None else self.text(name)

    def ident(self, name: str) -> str:
        """An id Jira or GitHub sends sometimes as a number, sometimes as a string."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise self._fail(name, "a number or a non-empty string")
        return str(value)

    def opt_ident(self, name: str) -> str | None:
        return None if self.data.get(name) is None else self.ident(name)

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, "a whole number")
        return value

    def opt_integer(self, name: str) -> int | None:
        return None if self.data.get(name) is None else self.integer(name)

    def opt_bool(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._fail(name, "true or false")
        return value

    def objects(self, name: str) -> list[Node]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise self._fail(name, "an array")
        nodes = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise PayloadError(f"{self._at(name)}[{index}] should be an object, found {_describe(item)}")
            nodes.append(Node(item, f"{self._at(name)}[{index}]"))
        return nodes

    def opt_objects(self, name: str) -> list[Node] | None:
        return None if self.data.get(name) is None else self.objects(name)

    def texts(self, name: str) -> list[str]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise self._fail(name, "an array")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise PayloadError(f"{self._at(name)}[{index}] should be a string, found {_describe(item)}")
        return list(value)

    def opt_texts(self, name: str) -> list[str] | None:
        return None if self.data.get(name) is None else self.texts(name)

    def opt_time(self, name: str) -> datetime | None:
        """ISO 8601 (GitHub `2019-05-15T15:20:17Z`, Jira `2017-01-30T18:32:14.716+0100`) or epoch milliseconds."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value / 1000, UTC)
            except (OverflowError, OSError, ValueError):  # outside the years 1 to 9999 a datetime can hold
                raise PayloadError(
                    f"{self._at(name)} should be a time in milliseconds since 1970, found {value}"
                ) from None
        if not isinstance(value, str):
            raise self._fail(name, "a date-time string")
        return parse_time(value, self._at(name))


def parse_time(value: str, path: str) -> datetime:
    """GitHub's `2019-05-15T15:20:17Z`, Jira's `2017-01-30T18:32:14.716+0100`, a date alone: as an aware UTC time."""
    try:
        moment = datetime.fromisoformat(value.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a valid local time whose UTC lies outside years 1-9999
        shown = value if len(value) <= 60 else f"{value[:57]}..."
        raise PayloadError(
            f"{path} should be an ISO 8601 date-time between the years 1 and 9999, found {shown!r}"
        ) from None
