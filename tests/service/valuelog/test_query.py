"""The shared log query: filters (kind, family, subject, actor, time range) on both engines, pages either way, an
entry with its neighbours, and reads that let writers in between batches."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service import valuelog
from service.runtime import runtime
from service.storage.models import ValueLogEntry
from service.valuelog import verify
from service.valuelog.query import LogFilter, QueryInvalid, batches, browse, entry, head, kind_problem

DAYS = (
    datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 11, 28, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 28, 14, 30, tzinfo=UTC),
    datetime(2026, 11, 28, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 11, 29, 0, 0, tzinfo=UTC),
)


def _fill(app) -> None:
    """Entries at the edges of 28 November 2026, then kinds whose names hold LIKE's wildcards."""
    with runtime(app).transaction() as session:
        for n, at in enumerate(DAYS):
            valuelog.append(
                session,
                kind="label.added" if n % 2 else "hypothesis.updated",
                subject=f"jira:BEN-{n % 2}",
                data={"n": n},
                actor=f"jira:user{n % 3}",
                source="jira",
                at=at,
            )
        for kind in ("custom_kind.x", "customXkind.x", "50%.done"):
            valuelog.append(session, kind=kind, subject="rule:x", data={}, actor="rule:x", source="rules")


def _seqs(app, **args: str) -> list[int]:
    with runtime(app).transaction() as session:
        return [r.seq for r in browse(session, LogFilter.parse(args), limit=100).records]


def test_filters_select_on_both_engines(any_app) -> None:
    _fill(any_app)
    assert _seqs(any_app, kind="label.added") == [2, 4]
    assert _seqs(any_app, kind="label.*") == [2, 4]
    assert _seqs(any_app, kind="hypothesis.updated", subject="jira:BEN-0") == [1, 3, 5]
    assert _seqs(any_app, actor="jira:user0") == [1, 4]
    # `_` and `%` in a kind are themselves, not LIKE's wildcards.
    assert _seqs(any_app, kind="custom_kind.*") == [6]
    assert _seqs(any_app, kind="50%.*") == [8]
    # A day is the whole day, in UTC, whichever end of the range it is.
    assert _seqs(any_app, since="2026-11-28", until="2026-11-28") == [2, 3, 4]
    assert _seqs(any_app, since="2026-11-28T14:30:00Z") == [3, 4, 5, 6, 7, 8]
    assert _seqs(any_app, until="2026-11-28T14:30:00Z") == [1, 2, 3]  # a moment is included
    assert _seqs(any_app, since="2026-11-28T15:30:00+01:00", until="2026-11-28 14:30") == [3]
    assert _seqs(any_app, subject="jira:NOPE-1") == []


@pytest.mark.parametrize(
    ("args", "parameter", "says"),
    [
        ({"since": "28.11.2026"}, "since", "a day such as 2026-11-28"),
        ({"until": "2026-02-30"}, "until", "got '2026-02-30'"),
        ({"since": "2026-11-29", "until": "2026-11-28"}, "until", "before since"),
        ({"kind": "k" * 101}, "kind", "no entry has one over 100"),
        ({"subject": "s" * 301}, "subject", "over 300"),
    ],
)
def test_bad_filters_name_the_parameter_and_what_to_give(args, parameter: str, says: str) -> None:
    with pytest.raises(QueryInvalid) as raised:
        LogFilter.parse(args)
    assert [name for name, _ in raised.value.problems] == [parameter]
    assert says in str(raised.value)


def test_every_bad_filter_is_named_at_once() -> None:
    with pytest.raises(QueryInvalid) as raised:
        LogFilter.parse({"since": "soon", "until": "later", "actor": "a" * 201})
    assert [name for name, _ in raised.value.problems] == ["actor", "since", "until"]


def test_moments_beyond_what_utc_can_write_bound_nothing_or_everything(app) -> None:
    _fill(app)
    assert _seqs(app, since="0001-01-01T00:00:00+23:59") == list(range(1, 9))
    assert _seqs(app, until="9999-12-31") == list(range(1, 9))
    assert _seqs(app, since="9999-12-31T23:59:59-23:59", until="") == []


def test_pages_go_forward_and_back_with_seq_cursors(app) -> None:
    _fill(app)
    everything = LogFilter()
    with runtime(app).transaction() as session:
        first = browse(session, everything, limit=3)
        assert [r.seq for r in first.records] == [1, 2, 3] and (first.before, first.after) == (None, 3)
        second = browse(session, everything, after=first.after, limit=3)
        assert [r.seq for r in second.records] == [4, 5, 6] and (second.before, second.after) == (4, 6)
        last = browse(session, everything, after=second.after, limit=3)
        assert [r.seq for r in last.records] == [7, 8] and (last.before, last.after) == (7, None)
        back = browse(session, everything, before=last.before, limit=3)
        assert [r.seq for r in back.records] == [4, 5, 6] and (back.before, back.after) == (4, 6)
        newest = browse(session, everything, before=9, limit=3)
        assert [r.seq for r in newest.records] == [6, 7, 8] and (newest.before, newest.after) == (6, 8)
        # Filters hold on every page, and a cursor past every seq is an empty page, not an error.
        labels = browse(session, LogFilter.parse({"kind": "label.added"}), after=2, limit=3)
        assert [r.seq for r in labels.records] == [4]
        assert browse(session, everything, after=2**70, limit=3).records == []
        assert browse(session, everything, before=2**70, limit=3).records[-1].seq == 8


def test_an_entry_comes_with_its_bytes_and_its_neighbours(any_app) -> None:
    _fill(any_app)
    with runtime(any_app).transaction() as session:
        second = entry(session, 2)
        first_hash = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == 1))
        assert second is not None
        assert second.canonical.startswith(b'{"actor":"jira:user1","at":"2026-11-28T00:00:00.000000Z"')
        assert (second.previous_hash, second.has_next) == (first_hash, True)
        assert second.record.prev_hash == first_hash
        assert entry(session, 8) is not None and not entry(session, 8).has_next
        assert entry(session, 9) is None and entry(session, 0) is None and entry(session, 2**63) is None
        assert head(session) == (8, entry(session, 8).record.hash)


def test_a_kind_is_known_when_declared_or_logged(app) -> None:
    _fill(app)
    with runtime(app).transaction() as session:
        assert kind_problem(session, "checkin.answered") is None  # declared, never logged here
        assert kind_problem(session, "custom_kind.x") is None  # logged by a rule action of its own
        assert kind_problem(session, "checkin.*") is None
        assert kind_problem(session, "custom*") is None
        typo = kind_problem(session, "hypothesis.updatd")
        assert typo is not None and "did you mean 'hypothesis.updated'?" in typo
        family = kind_problem(session, "hypotheses.*")
        assert family is not None and "did you mean 'hypothesis.*'?" in family
        assert kind_problem(session, "zzz") is not None


def _writer_can_start(database: str) -> bool:
    """Whether another process could take SQLite's write lock now (what every appender needs)."""
    connection = sqlite3.connect(database, timeout=0.2, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


@pytest.mark.parametrize("release", [True, False])
def test_a_long_read_lets_writers_in_between_batches_only_when_released(app, release: bool) -> None:
    _fill(app)
    database = runtime(app).settings.database_url.removeprefix("sqlite:///")
    with runtime(app).transaction() as session:
        reading = batches(session, select(ValueLogEntry), size=3, release=release)
        assert [row.seq for row in next(reading)] == [1, 2, 3]
        # While the caller works on a batch, a released read holds no lock; an unreleased one holds SQLite's only
        # write lock (every transaction begins IMMEDIATE) until the whole read ends.
        assert _writer_can_start(database) is release
        assert [row.seq for batch in reading for row in batch] == [4, 5, 6, 7, 8]
        assert _writer_can_start(database) is release
    assert _writer_can_start(database)


def test_verify_walks_a_log_longer_than_its_batch(app, monkeypatch) -> None:
    _fill(app)
    monkeypatch.setattr(verify, "BATCH", 3)
    with runtime(app).transaction() as session:
        result = verify.verify_database(session, release=True)
    assert result.ok and result.entries == 8
