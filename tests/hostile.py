"""Strategies for property-based tests: the values an attacker (or a careless client) sends, and mutations of the
real fixtures that put them anywhere in a payload."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

# Text of every Unicode category, lone surrogates (Cs) and control characters (Cc, NUL included) too.
ANY_CHARACTER = st.characters(codec=None, categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"])
# What intake lets through in text: any Unicode but NUL and lone surrogates.
STORABLE_CHARACTER = st.characters(codec="utf-8", exclude_characters="\x00")
TRICKY_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2026-02-30T10:00:00Z",
        "2026-11-28 12:00:00 UTC",
        "value:",
        "value:transparancy",
        "value:transparency",
        "value-risk:privacy-security",
        "value/accessibility-inclusion",
        "epic",
        "Epic",
        "/value +9 nothing",
        "```value-hypothesis\nstatement: x\ndimensions: [transparency]\n"
        "measure: {name: m, baseline: {value: .nan, date: 2026-01-01}}\n```",
        '{code:value-hypothesis}\nstatement: "\\0"\n{code}',
        "com.atlassian.greenhopper.service.sprint.Sprint@1f[id=99999999999999999999,state=ACTIVE,name=x]",
        "https://example.org/rest/api/2/issue/1",
    ]
)
LONG_TEXT = st.builds(
    lambda piece, times: piece * times, st.text(ANY_CHARACTER, min_size=1, max_size=3), st.integers(100, 2000)
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(ANY_CHARACTER, max_size=30),
    TRICKY_TEXT,
    LONG_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(ANY_CHARACTER, max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"a": [value]}
    return value


DEEP = st.integers(20, 600).map(nested)


def paths(tree: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree: object members and array items, the root excluded; not inside a value an earlier
    mutation nested hundreds of levels deep (it is refused whole anyway, and walking it would exhaust the stack)."""
    if len(here) > 40:
        return []
    found = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.append((*here, key))
            found += paths(value, (*here, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.append((*here, index))
            found += paths(value, (*here, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, payload: dict[str, Any], changes: int = 3) -> dict[str, Any]:
    """The payload with up to `changes` places replaced by hostile values, deleted, or nested very deep."""
    tree = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, changes))):
        places = paths(tree)
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent: Any = tree
        for part in place[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "deep"]))
        if action == "delete":
            del parent[place[-1]]
        else:
            parent[place[-1]] = draw(DEEP if action == "deep" else VALUES)
    return tree


def dumps(tree: Any) -> bytes:
    """JSON as a client would send it: non-ASCII escaped (so lone surrogates travel as \\udXXX), NaN as NaN."""
    return json.dumps(tree, ensure_ascii=True, allow_nan=True).encode()
