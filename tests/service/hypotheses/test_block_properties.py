"""Property: whatever an epic's description holds, reading its value-hypothesis blocks never raises, and what it
writes (a hypothesis, or `hypothesis.invalid` with the reasons) can always be stored, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.domain.taxonomy import load
from service.hypotheses.blocks import sync_from_description
from service.runtime import runtime
from service.storage.models import Hypothesis, ValueLogEntry
from tests.epics import add_epic
from tests.hostile import SCALARS, STORABLE_CHARACTER, VALUES

EPIC = "github:acme/portal#34"
TAXONOMY = load()
FIELDS = ["statement", "dimensions", "stakeholders", "indicators", "measure", "owner", "risks", "trade-offs", "status",
          "confidence", "phase", "reason", "id"]  # fmt: skip
VALID = {
    "statement": "We believe publishing the refusal rules will result in fewer appeals",
    "dimensions": ["transparency"],
    "measure": {"name": "appeals", "baseline": {"value": 0.18, "date": "2026-09-01"}},
}
YAML_SNIPPETS = [".nan", "-.inf", "1e400", '"\\0"', '"\\ud800"', "!!binary AAAA", "&a [1]", "*a", "[" * 300,
                 "{a: 1, a: 2}", "!!set {a, b}", "!!python/object:os.system ls", "2026-02-30", "|\n  multi\n  line",
                 "9" * 40, "~", "'", "{code}", "```"]  # fmt: skip


@st.composite
def blocks(draw: st.DrawFn) -> str:
    """A block's text: a valid hypothesis with fields changed, or YAML with hostile lines, or any text at all."""
    kind = draw(st.sampled_from(["fields", "lines", "text"]))
    if kind == "fields":
        fields: dict[str, Any] = dict(VALID)
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
            fields[name] = draw(VALUES | st.lists(SCALARS, max_size=3))
        return yaml.safe_dump(fields, allow_unicode=draw(st.booleans()))
    if kind == "lines":
        lines = yaml.safe_dump(VALID).splitlines()
        for _ in range(draw(st.integers(1, 3))):
            field = draw(st.sampled_from(["statement", "dimensions", "indicators", "owner", "measure", "risks"]))
            lines.insert(draw(st.integers(0, len(lines))), f"{field}: {draw(st.sampled_from(YAML_SNIPPETS))}")
        return "\n".join(lines)
    # Raw text of a description has passed intake (no NUL, no lone surrogate); its YAML escapes have not.
    return draw(st.text(STORABLE_CHARACTER, max_size=200))


def description(text: str, jira: bool) -> str:
    if jira:
        return f"h2. Wert\n{{code:value-hypothesis}}\n{text}\n{{code}}\n"
    return f"## Value hypothesis\n\n```value-hypothesis\n{text}\n```\n"


@pytest.fixture
def epic(any_app):
    with runtime(any_app).transaction() as session:
        add_epic(session, EPIC)
    return any_app


@given(text=blocks(), jira=st.booleans())
def test_any_block_is_read_without_raising_and_what_it_writes_can_be_stored(epic, text, jira) -> None:
    with runtime(epic).transaction() as session:  # commits: on PostgreSQL NUL, say, would fail right here
        happened = sync_from_description(
            session, epic_key=EPIC, description=description(text, jira), actor="github:someone", source="github"
        )
    kinds = {event.kind for event in happened}
    assert kinds <= {"hypothesis.created", "hypothesis.updated", "hypothesis.retired", "hypothesis.invalid"}
    with runtime(epic).transaction() as session:
        count = session.scalar(select(func.count()).select_from(Hypothesis))
        invalid = session.scalar(
            select(func.count()).select_from(ValueLogEntry).where(ValueLogEntry.kind == "hypothesis.invalid")
        )
        assert count or invalid  # every block is either a hypothesis or reported with its problems
