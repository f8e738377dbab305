"""Which value-log entries a reader asked for: the filters shared by `GET /api/v1/log`, the web log and its exports.

Filters: `kind` (exact, or a family with `*` as rule packs write it: `hypothesis.*`), `subject`, `actor`, and a
time range `since` / `until` (a day `2026-11-28` or a moment `2026-11-28T14:30:00Z`; a moment without a zone is
UTC, like every `at` in the log). `until` a day includes that whole day.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from service.domain import limits
from service.domain.kinds import known_kinds
from service.storage.models import ValueLogEntry
from service.valuelog.chain import LogRecord, format_at

FILTERS = ("kind", "subject", "actor", "since", "until")
# The largest seq a BIGINT column can hold: a cursor beyond it names no entry, and the database would refuse it.
MAX_SEQ = 2**63 - 1
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIKE_ESCAPE = "\\"
# The column widths of the log: a longer filter value can match nothing, so it is a mistake worth naming.
_WIDTHS = {"kind": 100, "subject": limits.KEY, "actor": limits.ACTOR}


class QueryInvalid(ValueError):
    """Filter values that cannot be used: `problems` pairs each parameter with what is wrong and what to give."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class LogFilter:
    """What to select; `at_from` (inclusive) and `at_before` (exclusive) are bounds on the `at` text, which has one
    width and sorts as time (chain.format_at), so they compare as text on every engine and use no function."""

    kind: str | None = None
    subject: str | None = None
    actor: str | None = None
    since: str | None = None  # as given, to show and to put back into links
    until: str | None = None
    at_from: str | None = None
    at_before: str | None = None
    within: Any = field(default=None, compare=False)  # a token's scope (service/scopes.py), not a user's filter

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> LogFilter:
        """From query-string values; empty values are no filter. Raises QueryInvalid naming every bad one."""
        values = {name: (args.get(name) or "").strip() or None for name in FILTERS}
        problems: list[tuple[str, str]] = []
        for name, width in _WIDTHS.items():
            value = values[name]
            if value is not None and len(value) > width:
                problems.append(
                    (name, f"{name} is {len(value)} characters long; no entry has one over {width}: check the value")
                )
        bounds: dict[str, str | None] = {}
        for name, end_of_day in (("since", False), ("until", True)):
            raw = values[name]
            try:
                bounds[name] = _moment(name, raw, end_of_day=end_of_day) if raw else None
            except QueryInvalid as exc:
                problems.extend(exc.problems)
        at_from, at_before = bounds.get("since"), bounds.get("until")
        if at_from is not None and at_before is not None and at_before <= at_from:
            problems.append(
                (
                    "until",
                    f"until ({values['until']}) is before since ({values['since']}): swap them or widen the range",
                )
            )
        if problems:
            raise QueryInvalid(problems)
        return cls(at_from=at_from, at_before=at_before, **values)

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in FILTERS)

    def args(self) -> dict[str, str]:
        """The filters as query-string values, to carry them into the next page's and the export's links."""
        return {name: value for name in FILTERS if (value := getattr(self, name))}

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.kind:
            if "*" in self.kind:
                query = query.where(ValueLogEntry.kind.like(_like(self.kind), escape=_LIKE_ESCAPE))
            else:
                query = query.where(ValueLogEntry.kind == self.kind)
        if self.subject:
            query = query.where(ValueLogEntry.subject == self.subject)
        if self.actor:
            query = query.where(ValueLogEntry.actor == self.actor)
        if self.at_from is not None:
            query = query.where(ValueLogEntry.at >= self.at_from)
        if self.at_before is not None:
            query = query.where(ValueLogEntry.at < self.at_before)
        if self.within is not None:
            query = query.where(self.within)
        return query


def _like(pattern: str) -> str:
    """`label.*` as a LIKE pattern; `%` and `_` in a kind are themselves, not wildcards."""
    escaped = pattern.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    return escaped.replace("*", "%")


def _moment(name: str, raw: str, *, end_of_day: bool) -> str:
    """The bound on `at` for a day or a moment: since a day is its first microsecond, until a day is the next day's."""
    try:
        if _DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            step = timedelta(days=1)
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            step = timedelta(microseconds=1)  # `until` a moment includes it: the bound is the next microsecond
    except ValueError:
        raise QueryInvalid(
            [
                (
                    name,
                    f"{name} must be a day such as 2026-11-28 or a moment such as 2026-11-28T14:30:00Z (UTC), "
                    f"got {raw!r}",
                )
            ]
        ) from None
    try:
        return format_at(moment + step if end_of_day else moment)
    except OverflowError:
        # Beyond what UTC can write (0001-01-01 with a positive offset, 9999-12-31 and later): before or after
        # every entry. "" sorts before any `at` and "~" after any.
        return "~" if moment.year > 1 else ""


def kind_problem(session: Session, kind: str) -> str | None:
    """Why `kind` selects nothing anyone could mean, or None. A kind is known when the service declares it or some
    entry has it (rule actions may log kinds of their own); a family when it matches one of those."""
    declared = known_kinds()
    if "*" in kind:
        if any(fnmatch.fnmatchcase(name, kind) for name in declared) or session.scalar(
            select(exists().where(ValueLogEntry.kind.like(_like(kind), escape=_LIKE_ESCAPE)))
        ):
            return None
    elif kind in declared or session.scalar(select(exists().where(ValueLogEntry.kind == kind))):
        return None
    close = difflib.get_close_matches(kind, [*declared, *families()], n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no entry has the kind {kind!r} and the service declares no such kind; {hint}the kind field suggests them"


def families() -> list[str]:
    """`hypothesis.*`, `label.*`, ...: one per prefix of the declared kinds, for the kind field's suggestions."""
    return sorted({f"{name.split('.', 1)[0]}.*" for name in known_kinds()})


@dataclass(frozen=True)
class LogPage:
    """One page of entries, oldest first; `after` and `before` are the cursors of the pages either side, or None."""

    records: list[LogRecord]
    after: int | None
    before: int | None


def browse(
    session: Session, log_filter: LogFilter, *, after: int | None = None, before: int | None = None, limit: int = 100
) -> LogPage:
    """Entries with seq > `after` (or, going back, the last ones with seq < `before`), oldest first on the page."""
    query = log_filter.apply(select(ValueLogEntry))
    if before is not None:
        query = query.where(ValueLogEntry.seq < min(before, MAX_SEQ)).order_by(ValueLogEntry.seq.desc())
    else:
        query = query.where(ValueLogEntry.seq > min(after or 0, MAX_SEQ)).order_by(ValueLogEntry.seq)
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    records = [LogRecord.from_row(row) for row in rows]
    if not records:
        return LogPage(records, None, None)
    # One page further either way exists when the query found one more row, or when we came from that side.
    later = more if before is None else True
    earlier = (after or 0) > 0 if before is None else more
    return LogPage(records, records[-1].seq if later else None, records[0].seq if earlier else None)


@dataclass(frozen=True)
class StoredEntry:
    """One entry as stored: its fields, the exact bytes that were hashed, and its neighbours' seqs."""

    record: LogRecord
    canonical: bytes
    previous_hash: str | None  # the stored hash of seq - 1, to show whether prev_hash links to it
    has_next: bool


def entry(session: Session, seq: int) -> StoredEntry | None:
    if not 1 <= seq <= MAX_SEQ:
        return None
    row = session.get(ValueLogEntry, seq)
    if row is None:
        return None
    previous = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == seq - 1)) if seq > 1 else None
    has_next = bool(session.scalar(select(exists().where(ValueLogEntry.seq == seq + 1))))
    return StoredEntry(LogRecord.from_row(row), bytes(row.canonical), previous, has_next)


def head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the last entry, or None while the log is empty."""
    found = session.execute(
        select(ValueLogEntry.seq, ValueLogEntry.hash).order_by(ValueLogEntry.seq.desc()).limit(1)
    ).first()
    return (found.seq, found.hash) if found else None


def batches(
    session: Session, query: Select[Any], *, after: int = 0, size: int, release: bool = False
) -> Iterator[list[ValueLogEntry]]:
    """`query`'s entries in seq order, `size` at a time (keyset pages keep memory flat on a long log).

    `release` ends the read transaction after each fetch, before the caller works on the batch. On SQLite every
    transaction holds the one write lock (storage.engine), so a long read in one transaction would stop every writer
    until it ends; released, the lock is held only while a batch is fetched, and writers get their turn while the
    caller hashes or sends it. (On PostgreSQL a long transaction would hold back vacuum.) The log is append-only, so
    entries already read cannot change in between except by tampering, which is what a verify looks for anyway.
    Only for sessions that have written nothing: ending the transaction drops what is pending."""
    while True:
        rows = list(session.scalars(query.where(ValueLogEntry.seq > after).order_by(ValueLogEntry.seq).limit(size)))
        session.expunge_all()  # the rows stay readable, detached; the session holds none of them
        if release:
            session.rollback()
        if not rows:
            return
        yield rows
        after = rows[-1].seq
