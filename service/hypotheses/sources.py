"""Where a measure's readings come from: a URL (address-guarded) and the JSON path or CSV column to read there.

A measure may name `source_url` plus either `path`, a dotted path into a JSON answer (`data.rate`, `items.0.value`,
`items.-1.value` for the last item), or `column`, a column of a CSV answer whose last data row is taken.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context

from service.address_guard import AddressRefused, Resolver, check_url, system_resolver
from service.config import Settings

PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
PATH_HELP = "a dotted path into the JSON answer, e.g. data.rate or items.0.value"
_INDEX = re.compile(r"^-?\d+$")


class Unreadable(ValueError):
    """The answer does not hold a number where the measure says; the message says what was found instead."""


def url_problem(
    url: str, allowed_private_hosts: Iterable[str] | None = None, resolver: Resolver = system_resolver
) -> str | None:
    """Why the service may not read this URL (the address guard's rule), or None."""
    hosts = current_settings().allowed_private_hosts if allowed_private_hosts is None else allowed_private_hosts
    try:
        check_url(url, hosts, resolver)
    except AddressRefused as exc:
        return str(exc)
    return None


def current_settings() -> Settings:
    if has_app_context():
        settings: Settings = current_app.extensions["pvm"].settings
        return settings
    # Worker and CLI without an app: the settings are read the one sanctioned way.
    return Settings.from_env()


def read(body: bytes, measure: dict[str, Any]) -> float:
    """The number the measure points at in a source's answer."""
    if measure.get("path"):
        return read_json(body, str(measure["path"]))
    return read_csv(body, str(measure["column"]))


def read_json(body: bytes, path: str) -> float:
    try:
        found: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Unreadable("the answer is not JSON") from None
    walked: list[str] = []
    for part in path.split("."):
        where = ".".join(walked) or "the top level"
        if isinstance(found, list):
            if not _INDEX.match(part):
                raise Unreadable(f"{where} is a list; name an item by its number (0 is the first, -1 the last)")
            index = int(part)
            if not -len(found) <= index < len(found):
                raise Unreadable(f"{where} has {len(found)} item(s); there is no item {index}")
            found = found[index]
        elif isinstance(found, dict):
            if part not in found:
                keys = ", ".join(sorted(map(str, found))[:10]) or "none"
                raise Unreadable(f"{where} has no key {part!r} (its keys: {keys})")
            found = found[part]
        else:
            raise Unreadable(f"{where} is {_kind(found)}, so it has no {part!r}")
        walked.append(part)
    return number(found, path)


def read_csv(body: bytes, column: str) -> float:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise Unreadable("the answer is empty")
    # Comma, or the semicolon of spreadsheets where the comma is the decimal sign, or tab.
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [name.strip() for name in rows[0]]
    if column in header:
        index = header.index(column)
    else:
        folded = [name.casefold() for name in header]
        if column.strip().casefold() not in folded:
            raise Unreadable(f"no column {column!r}; the columns are {', '.join(header[:20])}")
        index = folded.index(column.strip().casefold())
    if len(rows) < 2:
        raise Unreadable("the answer has a header row but no data rows")
    last = rows[-1]
    value = last[index].strip() if index < len(last) else ""
    if not value:
        raise Unreadable(f"the last row has no value in the column {column!r}")
    if delimiter != "," and re.fullmatch(r"-?\d+,\d+", value):
        value = value.replace(",", ".")
    return number(value, f"the column {column!r} of the last row")


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Unreadable(f"{where} is {_kind(value)}, not a number")
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise Unreadable(f"{where} is {str(value)[:40]!r}, not a number") from None
    if not math.isfinite(result):
        raise Unreadable(f"{where} is {value!r}, not a finite number")
    return result


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"
