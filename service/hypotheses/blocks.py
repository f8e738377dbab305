"""`value-hypothesis` blocks in an epic's description: find, parse, and sync them to hypotheses of origin "block".

Which block is which hypothesis, across edits: a block may carry `id: <name>`; then it is that hypothesis for as
long as a block with that id exists. Blocks without an id are matched by position among the id-less blocks
(`pos:1` is the first of them, `pos:2` the second ...). A hypothesis stays tied to its block while the block is
there, even once retired; a hypothesis whose block is gone is retired, with the reason
recorded; a block whose text is unchanged is not parsed again (its SHA-256 is kept); an invalid block is logged as
`hypothesis.invalid` with line numbers and the hypothesis it would have changed stays as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import once_keys, valuelog
from service.domain.events import Event
from service.domain.taxonomy import Taxonomy
from service.hypotheses import commands
from service.hypotheses.schema import HypothesisFields, HypothesisInvalid, NewHypothesis, validate
from service.hypotheses.vocabulary import current_taxonomy
from service.storage import upsert
from service.storage.models import BlockReport, Hypothesis

LANGUAGE = "value-hypothesis"
_MD_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*" + LANGUAGE + r"[ \t]*$")
_JIRA_OPEN = re.compile(r"^\s*\{code:" + LANGUAGE + r"(?:\|[^}]*)?\}(?P<rest>.*)$")
_JIRA_CLOSE = "{code}"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ID_LINE = re.compile(r"^id:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
REMOVED_REASON = "its value-hypothesis block was removed from the epic description"


MAX_BLOCK_CHARS = 64 * 1024  # a hypothesis is a dozen short lines; parsing megabytes of YAML would stall the worker


class _BlockLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so `2026-02-30` gets our "not a date" message, not a crash, and that
    refuses aliases: ten nested lists of ten aliases are 10**10 values to check, from a few lines of text."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (& and *) are not allowed in a block; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


_BlockLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class BlockFields(NewHypothesis):
    """A block: the hypothesis fields plus an optional stable `id` and the `reason` for a status change."""

    id: str | None = Field(default=None, pattern=_ID.pattern)


@dataclass(frozen=True)
class Block:
    """One block's text as found: `first_line` is the description line (1-based) of its first text line."""

    text: str
    first_line: int
    open_line: int
    closed: bool = True
    closer: str = "```"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class ParsedBlock:
    block: Block
    ref: str
    fields: BlockFields | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    nodes: yaml.Node | None = None


def find_blocks(description: str) -> list[Block]:
    """Markdown fences (``` or ~~~, info string value-hypothesis) and Jira `{code:value-hypothesis}` ... `{code}`."""
    lines = description.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        md, jira = _MD_OPEN.match(lines[i]), _JIRA_OPEN.match(lines[i])
        if md:
            fence = md.group("fence")
            body, j = [], i + 1
            while j < len(lines) and not (
                lines[j].strip().startswith(fence[0] * len(fence)) and not lines[j].strip().strip(fence[0])
            ):
                body.append(lines[j])
                j += 1
            blocks.append(Block("\n".join(body), i + 2, i + 1, closed=j < len(lines), closer=fence))
            i = j + 1
        elif jira:
            rest = jira.group("rest")
            # The text may start right after the opening tag and the closing {code} may end the last text line:
            # Jira's editor writes both forms.
            candidates = [(i, rest)] if rest.strip() else []
            candidates += [(k, lines[k]) for k in range(i + 1, len(lines))]
            body, closed, end = [], False, len(lines)
            for k, text in candidates:
                if _JIRA_CLOSE in text:
                    before = text.split(_JIRA_CLOSE, 1)[0]
                    if before.strip():
                        body.append(before)
                    closed, end = True, k
                    break
                body.append(text)
            first_line = i + 1 if rest.strip() else i + 2
            blocks.append(Block("\n".join(body), first_line, i + 1, closed=closed, closer=_JIRA_CLOSE))
            i = end + 1
        else:
            i += 1
    return blocks


def _node_line(root: yaml.Node | None, path: str) -> int | None:
    """The 0-based line within the block of the deepest node on `path` (e.g. `risks.0.dimension`)."""
    node, line = root, None
    if node is not None:
        line = node.start_mark.line
    for part in path.split("."):
        if isinstance(node, yaml.MappingNode):
            wanted = {part, part.replace("_", "-")}
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) in wanted), None)
            if match is None:
                break
            line, node = match[0].start_mark.line, match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line
        else:
            break
    return line


def _problem(block: Block, line_in_block: int | None, path: str, message: str) -> dict[str, Any]:
    line = block.first_line + line_in_block if line_in_block is not None else block.open_line
    return {"line": line, "path": path, "message": message}


def parse_block(block: Block, position_ref: str, taxonomy: Taxonomy) -> ParsedBlock:
    """The block's fields, or its problems each with the description line it is on."""
    id_match = _ID_LINE.search(block.text)
    ref = f"id:{id_match.group(1)}" if id_match else position_ref
    parsed = ParsedBlock(block, ref)
    if not block.closed:
        parsed.problems.append(
            _problem(
                block, None, "$", f"the value-hypothesis block opened here is never closed; end it with {block.closer}"
            )
        )
        return parsed
    if len(block.text) > MAX_BLOCK_CHARS:
        size = f"{len(block.text) // 1024} KB"
        message = f"the block is {size} long; a hypothesis fits in {MAX_BLOCK_CHARS // 1024} KB, shorten it"
        parsed.problems.append(_problem(block, None, "$", message))
        return parsed
    try:
        loader = _BlockLoader(block.text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except RecursionError:
        message = "nested too deeply to read; a hypothesis needs at most three levels of brackets"
        parsed.problems.append(_problem(block, None, "$", message))
        return parsed
    except yaml.YAMLError as exc:
        # The context mark is where the broken construct starts (e.g. an unclosed `[`), which is what to fix;
        # the problem mark is where the parser noticed, often a line later.
        context_mark, problem_mark = getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)
        mark = context_mark or problem_mark
        parts = (getattr(exc, "context", None), getattr(exc, "problem", None))
        reason = " ".join(str(part) for part in parts if part) or str(exc)
        if context_mark and problem_mark and problem_mark.line != context_mark.line:
            reason += f" (noticed on line {block.first_line + problem_mark.line})"
        parsed.problems.append(
            _problem(
                block,
                mark.line if mark else None,
                "$",
                f"not valid YAML: {reason}; check brackets, indentation and quotes",
            )
        )
        return parsed
    parsed.nodes = root
    if not isinstance(data, Mapping):
        parsed.problems.append(
            _problem(
                block,
                0,
                "$",
                "the block must hold fields such as `statement: We believe ...` and `dimensions: transparency`",
            )
        )
        return parsed
    try:
        parsed.fields = validate(data, taxonomy, BlockFields)
    except HypothesisInvalid as exc:
        parsed.problems = [_problem(block, _node_line(root, p.path), p.path, p.message) for p in exc.problems]
    return parsed


def _where(path: str) -> str:
    """`risks.0.dimension` as a person counts it: `risks, item 1, dimension` (the reply goes to a person)."""
    return ", ".join(f"item {int(part) + 1}" if part.isdigit() else part for part in path.split("."))


def _messages(problems: list[dict[str, Any]]) -> list[str]:
    return [
        f"line {p['line']}: {_where(p['path'])}: {p['message']}"
        if p["path"] != "$"
        else f"line {p['line']}: {p['message']}"
        for p in problems
    ]


def _newly_invalid(session: Session, epic_key: str, ref: str, sha256: str) -> bool:
    """Record that this block's text is reported invalid; False when it is the text reported last time.

    Re-sent invalid text must not be reported again (a label change re-sends the description).
    """
    last = session.scalar(
        select(BlockReport.block_sha256).where(BlockReport.epic_key == epic_key, BlockReport.block_ref == ref)
    )
    if last == sha256:
        return False
    # The report that follows appends to the value log; take its lock first, so every worker takes the log lock
    # and then this row, in that order. The upsert decides again: another worker may have reported meanwhile.
    valuelog.lock_for_append(session)
    now = datetime.now(UTC)
    changed = session.execute(
        upsert.insert(session, BlockReport)
        .values(epic_key=epic_key, block_ref=ref, block_sha256=sha256, reported_at=now)
        .on_conflict_do_update(
            index_elements=[BlockReport.epic_key, BlockReport.block_ref],
            set_={"block_sha256": sha256, "reported_at": now},
            where=BlockReport.block_sha256 != sha256,
        )
        .returning(BlockReport.block_ref)
    )
    return changed.first() is not None


def sync_from_description(
    session: Session,
    *,
    epic_key: str,
    description: str | None,
    actor: str,
    source: str,
    taxonomy: Taxonomy | None = None,
) -> list[Event]:
    """Bring the epic's block hypotheses in line with its description; the events that happened, in order."""
    taxonomy = taxonomy or current_taxonomy()
    commands.require_epic(session, epic_key)
    parsed: list[ParsedBlock] = []
    positions = 0
    seen_ids: dict[str, int] = {}
    for block in find_blocks(description or ""):
        if not _ID_LINE.search(block.text):
            positions += 1
        item = parse_block(block, f"pos:{positions}", taxonomy)
        if item.ref in seen_ids:
            item.fields = None
            item.problems.append(
                _problem(
                    block,
                    _node_line(item.nodes, "id"),
                    "id",
                    f"{item.ref[3:]!r} is already the id of the block "
                    f"on line {seen_ids[item.ref]}; give each block its own id",
                )
            )
        seen_ids.setdefault(item.ref, block.open_line)
        parsed.append(item)

    # The newest hypothesis per block stays tied to it, retired or not: a block that retired its hypothesis itself
    # (`status: retired`), or one retired through the API, must not spawn a new hypothesis on the next event that
    # re-sends the description. Only a removed block lets go of its hypothesis (its hash is cleared), so writing
    # the block again starts a new one.
    live: dict[str, Hypothesis] = {}
    for h in session.scalars(
        select(Hypothesis).where(Hypothesis.epic_key == epic_key, Hypothesis.origin == "block").order_by(Hypothesis.id)
    ):
        if h.block_ref and (h.status != "retired" or h.block_sha256 is not None):
            live[h.block_ref] = h
    happened: list[Event] = []
    for item in parsed:
        hypothesis = live.get(item.ref)
        sha = item.block.sha256
        if hypothesis is not None and hypothesis.block_sha256 == sha:
            continue  # unchanged since last seen (valid or not): nothing to write
        if item.fields is not None:
            try:
                event = _apply_block(session, epic_key, item, hypothesis, actor=actor, source=source)
            except HypothesisInvalid as exc:
                item.problems = [
                    _problem(
                        item.block,
                        _node_line(item.nodes, "status" if p.path == "reason" else p.path),
                        p.path,
                        p.message,
                    )
                    for p in exc.problems
                ]
            else:
                if event is not None:
                    happened.append(event)
                continue
        news = _newly_invalid(session, epic_key, item.ref, sha)
        if hypothesis is not None:
            hypothesis.block_sha256 = sha  # seen: the same invalid text is reported once
        elif not news:
            continue
        data = {
            "block": item.ref,
            "block_sha256": sha,
            "hypothesis": hypothesis.id if hypothesis is not None else None,
            "errors": item.problems,
            "messages": _messages(item.problems),
        }
        happened.append(commands.record_invalid(session, epic_key=epic_key, data=data, actor=actor, source=source))

    present = {item.ref for item in parsed}
    for ref, hypothesis in live.items():
        if ref not in present:
            event = commands.retire(session, hypothesis, reason=REMOVED_REASON, actor=actor, source=source)
            if event is not None:
                happened.append(event)
            hypothesis.block_sha256 = None  # let go of the block: written again, it is a new hypothesis
    return happened


def _status_change_made(session: Session, hypothesis: Hypothesis, status: str, reason: str | None) -> bool:
    """Whether this status, with this reason, was set before: the block still says what it said then.

    Without this, a status changed later through the API or form would be set back, under the old reason, by the
    next edit of any other line of the block.
    """
    if status == hypothesis.status:
        return False
    return once_keys.claimed(session, commands.status_key(hypothesis, status, reason))


def _apply_block(
    session: Session,
    epic_key: str,
    item: ParsedBlock,
    hypothesis: Hypothesis | None,
    *,
    actor: str,
    source: str,
) -> Event | None:
    assert item.fields is not None
    fields = HypothesisFields.model_validate(item.fields.model_dump(exclude={"id", "reason"}, exclude_unset=False))
    if hypothesis is None:
        _, created = commands.create(
            session,
            epic_key=epic_key,
            fields=fields,
            origin="block",
            actor=actor,
            source=source,
            block_ref=item.ref,
            block_sha256=item.block.sha256,
            reason=item.fields.reason,
        )
        return created
    if fields.status is not None and _status_change_made(session, hypothesis, fields.status, item.fields.reason):
        fields = fields.model_copy(update={"status": None})
    event = commands.update(session, hypothesis, fields=fields, reason=item.fields.reason, actor=actor, source=source)
    hypothesis.block_sha256 = item.block.sha256
    return event
