"""The one boundary for outside input: real payloads read as json.loads reads them; what cannot be stored is refused
with the path of the first offending value, never with an exception from deeper down."""

from __future__ import annotations

import json
import math

import pytest

from service.untrusted import MAX_DEPTH, Refused, check_text, check_tree, read_json
from tests.conftest import FIXTURES


def test_every_fixture_reads_as_json_loads_reads_it() -> None:
    bodies = [path.read_bytes() for path in sorted(FIXTURES.rglob("*.json"))]
    assert len(bodies) > 40
    for body in bodies:
        assert read_json(body) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"x": 0.1, "y": -2.5e-8, "z": 1E3, "big": 9007199254740991, "small": -9007199254740991}',
        '{"name": "Bürgerservice ✓ \\u00e4 \\ud83d\\ude00"}'.encode(),  # a surrogate pair is one character
        b'{"a": 1, "a": 2}',  # the last duplicate wins, as in json.loads
        b"[]",
        b"null",
        b'{"deep": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",
    ],
)
def test_what_can_be_stored_reads_the_same(body: bytes) -> None:
    assert read_json(body) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        (b'{"a": [1, {"b": "x\\u0000y"}]}', "$.a[1].b", "NUL character"),
        (b'{"issue": {"title": "\\ud800"}}', "$.issue.title", "lone surrogate (\\ud800)"),
        (b'{"a\\u0000b": 1}', "$['a\\x00b']", "the name contains a NUL"),
        (b'{"id": 123456789012345678901234567890}', "$.id", "the integer has 30 digits"),
        (b'{"id": 9007199254740992}', "$.id", "2**53 - 1"),
        (b'{"a": NaN}', "$", "NaN is not a number JSON allows"),
        (b'{"a": -Infinity}', "$", "-Infinity is not a number JSON allows"),
        (b'{"a": 1e400}', "$", "1e400 is too large for a number"),
        (b'{"a": ' + b"9" * 5000 + b"}", "$", "an integer of 5000 digits"),
        (b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}", "$.a" + "[0]" * 20, f"nested more than {MAX_DEPTH} levels"),
        (b"[" * 100_000 + b"]" * 100_000, "$", f"nested more than {MAX_DEPTH} levels"),
        (b'{"a": 1', "$", "not JSON (Expecting ',' delimiter: line 1 column 8 (char 7))"),
        (b"", "$", "not JSON (Expecting value"),
        (b"\xff", "$", "not UTF-8"),
        ('{"a": 1}'.encode("utf-16"), "$", "not JSON in UTF-8"),
    ],
)
def test_what_cannot_be_stored_is_refused_with_where_and_why(body: bytes, path: str, says: str) -> None:
    with pytest.raises(Refused) as caught:
        read_json(body)
    assert caught.value.path.startswith(path)
    assert says in str(caught.value)


def test_a_refused_path_is_shortened_not_echoed_whole() -> None:
    with pytest.raises(Refused) as caught:
        read_json(json.dumps({"k" * 10_000: "\u0000"}).encode())
    assert len(str(caught.value)) < 300


def test_yaml_trees_are_held_to_the_same_rules() -> None:
    """Blocks are YAML: it writes NUL with "\\0", NaN with .nan, binary with !!binary, sets and tuples too."""
    check_tree({"statement": "fine", "values": [1, 2.5, None, True], "when": ("a", "b")})
    for tree, says in [
        ({"statement": "a\0b"}, "NUL"),
        ({"measure": {"value": math.nan}}, "nan is not a finite number"),
        ({"measure": {"value": math.inf}}, "inf is not a finite number"),
        ({"statement": b"\x00\x00"}, "binary data is not text"),
        ({"indicators": {"ok", "bad\0"}}, "NUL"),
        ({"pairs": [("k", "\ud800")]}, "lone surrogate"),
    ]:
        with pytest.raises(Refused, match=says):
            check_tree(tree)


def test_single_texts_from_urls_and_forms() -> None:
    check_text("/epics/jira:PRM-1", "the address")
    with pytest.raises(Refused, match="the address contains a NUL"):
        check_text("/epics/a\x00b", "the address")
