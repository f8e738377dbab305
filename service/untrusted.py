"""Input from outside, checked once against what the service can store and hash: the one boundary.

Webhook bodies and API bodies are read with `read_json`; hypothesis blocks (YAML in an epic's description) are
checked with `check_tree`; URLs and form fields with `check_text`. What passes can be stored in every column type
on SQLite and PostgreSQL and canonicalised for the value log (RFC 8785), so an accepted input never fails later
because of its shape. The rules are I-JSON's (RFC 7493) plus two of our own:

- integers within +-(2**53 - 1), so JavaScript, JSON Canonicalization and every database read them exactly;
- numbers finite (no NaN, no Infinity, nothing that overflows to it such as 1e309);
- text with no lone surrogate (it cannot be encoded as UTF-8) and no NUL (PostgreSQL text cannot hold it);
- nested at most MAX_DEPTH arrays and objects deep (the deepest real tracker payload we know is 8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1
_DECODER = msgspec.json.Decoder()
_SEQUENCES = (list, tuple, set, frozenset)  # JSON has lists only; YAML (`!!set`, `!!omap`) makes the others


class Refused(ValueError):
    """Input the service will not take; the message says what is wrong and `path` where (`$.issue.title`)."""

    def __init__(self, message: str, path: str = "$") -> None:
        path = path if len(path) <= 120 else f"{path[:100]}...{path[-17:]}"
        super().__init__(f"{path}: {message}" if path != "$" else message)
        self.path = path
        self.reason = message


def read_json(body: bytes | str) -> Any:
    """The body's JSON value, or Refused naming the first thing that breaks the rules above."""
    try:
        value = _DECODER.decode(body)
    except (msgspec.MsgspecError, RecursionError):
        # msgspec is fast but terse; read the body again only to say precisely what is wrong with it.
        raise _why_unreadable(body) from None
    check_tree(value, quick_text=isinstance(body, bytes) and b"\\u0000" not in body)
    return value


def check_tree(value: Any, *, quick_text: bool = False) -> None:
    """Refused (with the path) when a decoded tree breaks the rules; `quick_text` skips the NUL and surrogate
    checks of strings, for JSON that msgspec decoded (it refuses lone surrogates) and that has no escaped NUL."""
    if _first_problem(value, quick_text) is not None:
        path, message = next(_problems(value, "$", 1))
        raise Refused(message, path)


def check_text(text: str, what: str) -> None:
    """Refused when one piece of text (a URL, a form field) holds a NUL or a lone surrogate."""
    problem = _text_problem(text)
    if problem is not None:
        raise Refused(f"{what} {problem}")


def _first_problem(value: Any, quick_text: bool) -> bool | None:
    """A fast pass without paths: True at the first problem, None when the tree is fine."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is dict or kind in _SEQUENCES:
            if depth > MAX_DEPTH:
                return True
            items = node.values() if kind is dict else node
            if not quick_text and kind is dict and any(_text_problem(k) for k in node if type(k) is str):
                return True
            for item in items:
                t = type(item)
                if t is dict or t in _SEQUENCES:
                    stack.append((item, depth + 1))
                elif t is str:
                    if not quick_text and _text_problem(item) is not None:
                        return True
                elif _scalar_problem(item) is not None:
                    return True
        elif kind is str:
            if not quick_text and _text_problem(node) is not None:
                return True
        elif _scalar_problem(node) is not None:
            return True
    return None


def _problems(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """Every problem with its path, depth first (only walked once the fast pass found one)."""
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if depth > MAX_DEPTH:
            yield path, f"nested more than {MAX_DEPTH} levels deep (real payloads nest fewer than 10)"
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                name = key if not isinstance(key, str) or len(key) <= 40 else f"{key[:37]}..."
                here = f"{path}.{name}" if isinstance(key, str) and key.isidentifier() else f"{path}[{name!r}]"
                if isinstance(key, str) and (problem := _text_problem(key)):
                    yield here, f"the name {problem}"
                yield from _problems(item, here, depth + 1)
        else:
            for index, item in enumerate(value):  # a set's order is arbitrary, but its problem is still named
                yield from _problems(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        if problem := _text_problem(value):
            yield path, f"the text {problem}"
    elif problem := _scalar_problem(value):
        yield path, problem


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains a lone surrogate (\\u{code:04x}) at character {exc.start}, which is not Unicode text"
    return None


def _scalar_problem(value: Any) -> str | None:
    if type(value) is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "thousands of"
        return f"the integer has {digits} digits; whole numbers must lie within +-{MAX_SAFE_INTEGER} (2**53 - 1)"
    if type(value) is float and not math.isfinite(value):
        return f"{value} is not a finite number; use a number such as 0.5"
    if isinstance(value, bytes | bytearray):  # YAML's !!binary; a text field would otherwise take its raw bytes
        return "binary data is not text; write the value as text"
    return None


def _why_unreadable(body: bytes | str) -> Refused:
    def constant(name: str) -> Any:
        raise Refused(f"{name} is not a number JSON allows; use a finite number such as 0.5")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > 16:  # checked before int(): Python refuses to read more than 4,300 digits
            raise Refused(
                f"an integer of {len(text.lstrip('-'))} digits; whole numbers must lie within +-{MAX_SAFE_INTEGER}"
            )
        return int(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise Refused(f"{text[:40]} is too large for a number (it would be {value}); use a smaller one")
        return value

    try:
        value = json.loads(body, parse_constant=constant, parse_int=integer, parse_float=number)
    except Refused as exc:
        return exc
    except RecursionError:
        return Refused(f"nested more than {MAX_DEPTH} levels deep (real payloads nest fewer than 10)")
    except json.JSONDecodeError as exc:
        return Refused(f"not JSON ({exc}); send a JSON document with content type application/json")
    except UnicodeDecodeError as exc:
        return Refused(f"not UTF-8 text ({exc.reason} at byte {exc.start}); JSON must be encoded as UTF-8")
    try:
        check_tree(value)
    except Refused as exc:
        return exc
    return Refused("not JSON in UTF-8 (perhaps UTF-16, or a byte-order mark); send UTF-8 JSON")
