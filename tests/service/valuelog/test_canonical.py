"""The value log's canonical bytes are the `rfc8785` package's, byte for byte, for every value, whichever encoder
writes them; what RFC 8785 refuses is refused the same way."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.kinds import Kind
from service.valuelog.canonical import canonical_json

# Every code point, lone surrogates included (RFC 8785 refuses them), so keys and texts cover escapes, the
# characters above the surrogates that UTF-16 sorts differently, and astral ones.
_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None), max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)  # beyond 2**53 - 1 RFC 8785 refuses them
    | st.floats(allow_nan=True, allow_infinity=True)
    | _TEXT
    | st.sampled_from(list(Kind))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(_TEXT, inner, max_size=5)
    ),
    max_leaves=25,
)


def _outcome(encode: Any, value: Any) -> bytes | type[Exception]:
    try:
        return bytes(encode(value))
    except Exception as exc:  # the reference's own errors, whichever they are (a surrogate in a key: UnicodeError)
        return type(exc)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_the_same_bytes_or_the_same_refusal_as_rfc8785(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


class _Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        {"é": 1, "z": 2, "a": 3, "": 4},
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 puts the emoji's surrogates first; code points the other way round
        {"text": 'tab\tnew\nline\rquote"back\\slash\x00\x1f\x7f\u2028 ünï 漢 \U0001f600'},
        {"n": 2**53 - 1, "m": -(2**53) + 1},
        {"kind": Kind.CHECKIN_ANSWERED, "colour": _Colour.RED, "nested": [(1, 2), [], {}]},
        {"float": 1.0, "small": 1e-7, "big": 1e21, "zero": -0.0},
    ],
)
def test_values_the_log_holds(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ({"n": 2**53}, rfc8785.IntegerDomainError),
        ({"x": float("nan")}, rfc8785.FloatDomainError),
        ({"s": "\ud800"}, rfc8785.CanonicalizationError),
        ({1: "a key that is not text"}, rfc8785.CanonicalizationError),
        ({"when": object()}, rfc8785.CanonicalizationError),
    ],
)
def test_what_rfc8785_refuses_is_refused(value: Any, refused: type[Exception]) -> None:
    with pytest.raises(refused):
        canonical_json(value)


def test_the_output_is_json_that_reads_back_as_the_value() -> None:
    value = {"b": [1, "two", None, True], "a": {"c": "ü"}}
    assert json.loads(canonical_json(value)) == value
