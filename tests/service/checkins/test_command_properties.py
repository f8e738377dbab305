"""Property tests of the `/value` comment parser: any comment is either no command, a command, or CommandInvalid
with a reason; a command written the documented way reads back as written."""

from __future__ import annotations

import shlex

from hypothesis import given
from hypothesis import strategies as st

from service.checkins.comments import Command, CommandInvalid, find_command, parse_command


@given(st.text(max_size=500))
def test_any_comment_is_no_command_a_command_or_a_reason(body: str) -> None:
    arguments = find_command(body)
    if arguments is None:
        assert "/value" not in body.lower() or all(
            "/value" not in line.lower().lstrip(" \t>")[:6] for line in body.split("\n")
        )
        return
    try:
        command = parse_command(arguments)
    except CommandInvalid as refused:
        assert str(refused)
    else:
        assert isinstance(command, Command) and command.score.lstrip("+-").isdigit()


@given(
    score=st.integers(min_value=-2, max_value=2),
    dimension=st.sampled_from([None, "transparency", "accessibility-inclusion"]),
    text=st.one_of(
        st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80)
    ),
    hypothesis=st.one_of(st.none(), st.integers(min_value=1, max_value=10**6)),
    prefix=st.sampled_from(["", "> ", "  "]),
)
def test_a_documented_command_reads_back(
    score: int, dimension: str | None, text: str | None, hypothesis: int | None, prefix: str
) -> None:
    parts = [f"{score:+d}"] + ([f"h{hypothesis}"] if hypothesis else []) + ([dimension] if dimension else [])
    if text is not None:
        parts.append(shlex.quote(text))
    body = f"Thanks for asking.\n{prefix}/value {' '.join(parts)}\nBest, Ana"
    arguments = find_command(body)
    assert arguments is not None
    command = parse_command(arguments)
    assert int(command.score) == score and command.hypothesis == hypothesis
    if dimension:
        assert command.dimension == dimension
    if (
        text is not None
        and text.strip()
        and not dimension
        and (" " not in text and text == text.lower() and len(text) <= 100)
    ):
        assert text in (command.dimension, command.text)  # a one-word lower-case text reads as a dimension
    elif text is not None and text.strip():
        assert command.text == text
