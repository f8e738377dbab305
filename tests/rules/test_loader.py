"""Loading packs: every shipped pack loads; every kind of mistake is named with file, rule, path and choices."""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rules import actions
from rules.errors import PackError
from rules.loader import BUILTIN_DIR, load_folders, load_pack, load_rules, pack_files
from rules.triggers import OnEvent, Schedule

GOOD_RULE = """
  - id: hello
    on: label.unknown
    then:
      - comment: {text: "hello"}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", pack_files(BUILTIN_DIR), ids=lambda p: p.name)
def test_every_shipped_pack_loads(path: Path) -> None:
    pack = load_pack(path)
    assert pack.rules
    assert pack.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_taxonomy_is_not_a_rule_pack() -> None:
    assert "taxonomy.yaml" not in [p.name for p in pack_files(BUILTIN_DIR)]


def test_default_pack_has_the_framework_rules() -> None:
    ruleset = load_rules()
    assert [r.id for r in ruleset.rules] == [
        "ex-ante-nudge",
        "ex-ante-nudge-at-start",
        "unknown-value-label",
        "invalid-hypothesis",
        "value-risk-mitigation",
        "iteration-checkin-round",
        "ex-post-round",
        "co-destruction-alert",
        "divergence-alert",
        "iteration-summary",
        "neglected-dimension-nudge",
        "low-response-escalation",
    ]
    # YAML 1.1 reads `on:` as True; the loader still sees the trigger.
    assert isinstance(ruleset.get("unknown-value-label").trigger, OnEvent)  # type: ignore[union-attr]
    assert isinstance(ruleset.get("low-response-escalation").trigger, Schedule)  # type: ignore[union-attr]
    assert [r.id for r in ruleset.for_kind("checkin.answered")] == ["co-destruction-alert", "divergence-alert"]


THEN = "\n  then: [{comment: {text: hi}}]"
ON = "- id: r1\n  on: label.added\n"


def pack_with(rule: str) -> str:
    return "rules:\n" + textwrap.indent(textwrap.dedent(rule).strip(), "  ") + "\n"


ERRORS = [
    # (pack text, rule, path, words in the message, a valid choice that must be listed)
    (
        pack_with("- id: r1\n  on: label.unkown" + THEN),
        "r1",
        "rules[0].on",
        "'label.unkown' matches no event kind",
        "label.unknown",
    ),
    (
        pack_with("- id: r1\n  on: [label.added, iteration.startd]" + THEN),
        "r1",
        "rules[0].on[1]",
        "matches no event kind",
        "iteration.started",
    ),
    (
        pack_with("- id: r1" + THEN),
        "r1",
        "rules[0]",
        "exactly one trigger",
        "schedule",
    ),
    (
        pack_with("- id: r1\n  on: label.added\n  when: {field: event.kind, op: equals, value: x}" + THEN),
        "r1",
        "rules[0].when.op",
        "unknown operator 'equals'",
        "not_in",
    ),
    (
        pack_with("- id: r1\n  on: label.added\n  when: [{field: epic.hypothesis_count, op: gt, value: 0}]" + THEN),
        "r1",
        "rules[0].when[0].field",
        "unknown field 'epic.hypothesis_count'",
        "epic.active_hypotheses",
    ),
    (
        pack_with(
            "- id: r1\n  on: label.added\n  when: [{field: iteration.answer_mean.citizens, op: le, value: -1}]" + THEN
        ),
        "r1",
        "rules[0].when[0].field",
        "unknown stakeholder group 'citizens'",
        "citizen",
    ),
    (
        pack_with("- id: r1\n  on: label.added\n  when: [{field: event.payload, op: exists}]" + THEN),
        "r1",
        "rules[0].when[0].field",
        "unknown event field 'payload'",
        "event.data",
    ),
    (
        pack_with(ON + "  when: {every: []}" + THEN),
        "r1",
        "rules[0].when",
        "unknown condition 'every'",
        "any",
    ),
    (
        pack_with("- id: r1\n  on: label.added\n  when: [{field: iteration.divergence, op: ge, value: two}]" + THEN),
        "r1",
        "rules[0].when[0].value",
        "compares numbers",
        None,
    ),
    (
        pack_with(
            "- id: r1\n  on: label.added\n  when: [{field: event.data.label, op: matches, value: '(unclosed'}]" + THEN
        ),
        "r1",
        "rules[0].when[0].value",
        "not a regular expression",
        None,
    ),
    (
        pack_with(ON + "  then: [{post: {text: hi}}]"),
        "r1",
        "rules[0].then[0]",
        "unknown action 'post'",
        "comment",
    ),
    (
        pack_with(ON + "  then: [{comment: {text: hi, where: epic}}]"),
        "r1",
        "rules[0].then[0].comment.where",
        "unknown parameter 'where'",
        "target",
    ),
    (
        pack_with(ON + "  then: [{comment: {text: hi, target: parent}}]"),
        "r1",
        "rules[0].then[0].comment.target",
        "unknown target 'parent'",
        "hypothesis_epic",
    ),
    (
        pack_with(ON + "  then: [{comment: {target: epic}}]"),
        "r1",
        "rules[0].then[0].comment.text",
        "needs 'text'",
        "text",
    ),
    (
        pack_with(ON + "  then: [{comment: {text: 'Hi {{ event.kind '}}]"),
        "r1",
        "rules[0].then[0].comment.text",
        "template error",
        None,
    ),
    (
        pack_with("- id: r1\n  on: iteration.started\n  then: [{open_checkin_round: {kind: weekly, deadline: 7d}}]"),
        "r1",
        "rules[0].then[0].open_checkin_round.kind",
        "unknown kind 'weekly'",
        "ex-post",
    ),
    (
        pack_with(
            "- id: r1\n  on: iteration.started\n  then: [{open_checkin_round: {kind: iteration, deadline: soon}}]"
        ),
        "r1",
        "rules[0].then[0].open_checkin_round.deadline",
        "not a duration",
        None,
    ),
    (
        pack_with("- id: r1\n  schedule: {cron: '0 25 * * *', each: open_round}\n  then: [{notify_owner: {text: hi}}]"),
        "r1",
        "rules[0].schedule.cron",
        "not a cron expression",
        None,
    ),
    (
        pack_with("- id: r1\n  schedule: {cron: '0 8 * * *', each: epic}\n  then: [{notify_owner: {text: hi}}]"),
        "r1",
        "rules[0].schedule.each",
        "unknown schedule scope 'epic'",
        "open_round",
    ),
    (
        pack_with(ON + "  then: [{comment: {text: hi}}]\n  priority: 3"),
        "r1",
        "rules[0].priority",
        "unknown key 'priority'",
        "once_per",
    ),
    (
        pack_with(ON + "  then: []"),
        "r1",
        "rules[0].then",
        "non-empty list of actions",
        None,
    ),
    (
        pack_with("- id: r1\n  on: label.added\n  then: [{comment: {text: hi}}]\n- id: r1\n  on: label.added" + THEN),
        "r1",
        "rules[1].id",
        "defined twice",
        None,
    ),
    (
        pack_with("- id: Bad Id\n  on: label.added" + THEN),
        None,
        "rules[0].id",
        "lower-case",
        None,
    ),
    ("rulez: []\n", None, "rulez", "unknown key 'rulez'", "rules"),
    ("rules: [\n", None, "(file)", "not valid YAML at line", None),
]


@pytest.mark.parametrize(("text", "rule", "path", "words", "choice"), ERRORS)
def test_error_names_file_rule_path_and_choices(
    tmp_path: Path, text: str, rule: str | None, path: str, words: str, choice: str | None
) -> None:
    pack = write(tmp_path, "project.yaml", text)
    with pytest.raises(PackError) as caught:
        load_pack(pack, {"citizen": "Citizens"})
    error = caught.value
    message = str(error)
    assert message.startswith("project.yaml: ")
    assert (error.rule, error.path) == (rule, path), message
    assert (f"rule {rule!r}" if rule else "pack") in message
    assert f": {path}: " in message
    assert words in message
    if choice is not None:
        assert choice in error.choices and "valid choices:" in message


def test_a_malformed_pack_never_half_loads(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rules:" + GOOD_RULE)
    write(
        tmp_path,
        "b.yaml",
        pack_with(
            "- id: ok\n  on: label.added\n  then: [{comment: {text: hi}}]\n- id: bad\n  on: nothing.happened" + THEN
        ),
    )
    with pytest.raises(PackError, match=r"b\.yaml: rule 'bad'"):
        load_folders([tmp_path])


def test_project_pack_overrides_and_disables_by_id(tmp_path: Path) -> None:
    write(
        tmp_path,
        "project.yaml",
        """
        rules:
          - id: divergence-alert
            on: checkin.answered
            when: [{field: iteration.divergence, op: ge, value: 1.5}]
            then: [{alert: {type: divergence, text: "groups differ"}}]
          - id: neglected-dimension-nudge
            enabled: false
          - id: project-extra
            on: ticket.created
            then: [{add_label: {label: "needs-value"}}]
        """,
    )
    ruleset = load_rules(tmp_path)
    ids = [r.id for r in ruleset.rules]
    assert "neglected-dimension-nudge" not in ids
    assert ids.index("divergence-alert") == ids.index("co-destruction-alert") + 1  # overridden in place
    assert ids[-1] == "project-extra"
    replaced = ruleset.get("divergence-alert")
    assert replaced is not None and replaced.pack == "project.yaml"
    assert "1.5" in replaced.condition.explain()  # type: ignore[union-attr]
    assert [p.name for p in ruleset.packs] == ["default.yaml", "project.yaml"]


def test_same_id_twice_in_one_folder_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rules:" + GOOD_RULE)
    write(tmp_path, "b.yaml", "rules:" + GOOD_RULE)
    with pytest.raises(PackError, match=r"also defined in a\.yaml in the same folder") as caught:
        load_folders([tmp_path])
    assert caught.value.file == "b.yaml" and caught.value.rule == "hello"


def test_bare_on_key_and_quoted_on_key_both_work(tmp_path: Path) -> None:
    bare = load_pack(write(tmp_path, "bare.yaml", "rules:" + GOOD_RULE))
    quoted = load_pack(write(tmp_path, "quoted.yaml", "rules:" + GOOD_RULE.replace(" on:", ' "on":')))
    assert bare.rules[0].trigger == quoted.rules[0].trigger == OnEvent(("label.unknown",))


def test_actions_from_other_packages_are_registered_from_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclass(frozen=True)
    class Page(actions.Action):
        name: ClassVar[str] = "page_on_call"
        keys: ClassVar[tuple[str, ...]] = ("team",)
        team: str

        @classmethod
        def parse(cls, params: Any, where: Any) -> actions.Action:
            return cls(str(params.get("team", "ops")))

    class Entry:
        name, value = "page_on_call", "acme_paging:Page"

        def load(self) -> type:
            return Page

    monkeypatch.setattr(actions, "_plugins_loaded", False)
    monkeypatch.setattr(actions, "entry_points", lambda group: [Entry()] if group == "pvm.actions" else [])
    monkeypatch.setitem(actions.ACTIONS, "page_on_call", Page)  # so monkeypatch removes it after the test
    del actions.ACTIONS["page_on_call"]  # ... and only the entry point brings it back
    pack = write(tmp_path, "p.yaml", "rules:\n  - id: p\n    on: label.added\n    then: [{page_on_call: {team: a}}]\n")
    assert load_pack(pack).rules[0].actions == (Page("a"),)


def test_a_broken_project_taxonomy_is_reported_as_a_pack_error(tmp_path: Path) -> None:
    (tmp_path / "taxonomy.yaml").write_text("dimensions: []\n")  # no stakeholder_groups
    expected = r"^taxonomy\.yaml: pack: \(file\): .*taxonomy\.yaml:1: the taxonomy needs `stakeholder_groups`"
    with pytest.raises(PackError, match=expected):
        load_rules(tmp_path)
