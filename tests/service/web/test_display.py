"""Moments on pages: the day and month in words, always in UTC, and a word for a moment that is not set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from service.web import display


def test_a_moment_reads_with_the_month_in_words_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    assert display.when(datetime(2027, 3, 2, 18, 5, tzinfo=berlin)) == "2 March 2027, 17:05 UTC"
    assert display.when(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "31 December 2026, 23:30 UTC"
    assert display.when(datetime(2027, 1, 1, 0, 30, tzinfo=berlin)) == "31 December 2026, 23:30 UTC"


def test_a_moment_not_set_reads_as_the_word_given() -> None:
    assert display.when(None) == "not set"
    assert display.when(None, "no deadline set") == "no deadline set"
