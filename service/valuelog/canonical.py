"""RFC 8785 (JCS) canonical JSON of value-log fields: the `rfc8785` package's bytes, written by a C encoder when that
gives the same bytes.

`rfc8785` is the reference and stays the only writer for anything outside the plain subset below; it serialises in
pure Python (about a tenth of a millisecond per entry, the largest single cost of asking a thousand people). For
strings, `None`, booleans, integers in JSON's safe range, lists, tuples and objects whose keys sort the same by code
point as by UTF-16 code unit, msgspec's sorted, compact output is byte for byte what RFC 8785 prescribes (the same
escapes, UTF-8, no spaces); tests/service/valuelog/test_canonical.py holds the two to that over generated values.
Floats take the reference path: RFC 8785 writes them as ECMAScript does (`1` for 1.0, `1e+21`), msgspec does not.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgspec
import rfc8785

_SAFE_INTEGER = 2**53 - 1  # RFC 8785 refuses integers a double cannot hold exactly; the reference says so
# Below the surrogate block, UTF-16 code units and code points order strings alike (RFC 8785 sorts by the former).
_FIRST_SURROGATE = "\ud800"
_ENCODER = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of `value`; raises `rfc8785.CanonicalizationError` for what JCS cannot carry."""
    if _plain(value):
        try:
            return _ENCODER.encode(value)
        except UnicodeEncodeError:  # a lone surrogate: the reference path raises its own error for it
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Whether `value` is made only of what both encoders write identically."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) < _FIRST_SURROGATE) or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    # Event kinds are StrEnum members: both encoders write their text.
    return isinstance(value, str) and isinstance(value, Enum) and type(value.value) is str and value.value == value
