"""parse_json reads every body to the very values json.loads gives, and fails where and as json.loads fails."""

from __future__ import annotations

import json
import math

import pytest

from integrations.payload import parse_json
from tests.conftest import FIXTURES, SHARED_FIXTURES


def _bodies() -> list[bytes]:
    own = sorted(FIXTURES.rglob("*.json"))
    shared = sorted(SHARED_FIXTURES.rglob("*.json")) if SHARED_FIXTURES.is_dir() else []
    return [path.read_bytes() for path in own + shared]


def test_every_fixture_reads_as_json_loads_reads_it() -> None:
    bodies = _bodies()
    assert len(bodies) > 50
    for body in bodies:
        assert parse_json(body) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 123456789012345678901234567890}',  # beyond 64 bits, kept exact
        b'{"x": 0.1, "y": -2.5e-8, "z": 1E3}',
        '{"name": "Bürgerservice ✓ \\u00e4"}'.encode(),
        b'{"a": 1, "a": 2}',  # the last duplicate wins, as in json.loads
        b"[]",
        b"null",
    ],
)
def test_strict_json_reads_the_same(body: bytes) -> None:
    assert parse_json(body) == json.loads(body)


def test_what_only_the_standard_library_accepts_is_still_accepted() -> None:
    assert math.isnan(parse_json(b'{"a": NaN}')["a"])
    assert parse_json(b'"\\ud800"') == "\ud800"
    assert parse_json(b'{"a": 1e400}') == {"a": math.inf}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b'{"a": 1', json.JSONDecodeError, "Expecting ',' delimiter: line 1 column 8 (char 7)"),
        (b"", json.JSONDecodeError, "Expecting value: line 1 column 1 (char 0)"),
        (b"\xff", UnicodeDecodeError, "can't decode byte 0xff"),
    ],
)
def test_broken_bodies_fail_with_the_standard_librarys_message(body: bytes, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        parse_json(body)
    assert message in str(caught.value)
