"""Triggers: event kinds with globs from the shared vocabulary, and cron schedules with coalesced catch-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.errors import PackError, Where
from rules.triggers import OnEvent, Schedule, known_kinds

WHERE = Where("p.yaml", "r", "rules[0].on")


def test_vocabulary_has_design_kinds() -> None:
    kinds = known_kinds()
    for kind in (
        "ticket.closed",
        "label.unknown",
        "iteration.joined",
        "hypothesis.invalid",
        "checkin.answered",
        "rule.fired",
        "clock.open_round",
        "epic.phase_changed",  # passed on to the rules by the pipeline when an epic's phase moves
    ):
        assert kind in kinds


def test_globs_match_kinds() -> None:
    trigger = OnEvent.parse(["hypothesis.*", "label.added"], WHERE)
    assert trigger.matches("hypothesis.invalid") and trigger.matches("label.added")
    assert not trigger.matches("label.removed")


def test_a_glob_matching_nothing_is_refused() -> None:
    with pytest.raises(PackError, match=r"'hypotheses\.\*' matches no event kind"):
        OnEvent.parse("hypotheses.*", WHERE)


def test_schedule_coalesces_missed_fire_times() -> None:
    hourly = Schedule.parse({"cron": "0 * * * *", "each": "active_iteration"}, WHERE)
    assert isinstance(hourly, Schedule)
    # A clock down for hours runs the rule once, for the latest hour, not once per missed hour.
    assert hourly.latest_fire_time(datetime(2026, 11, 2, 13, 59, tzinfo=UTC)) == datetime(2026, 11, 2, 13, tzinfo=UTC)
    daily = Schedule.parse({"cron": "0 8 * * *", "each": "open_round"}, WHERE)
    assert isinstance(daily, Schedule)
    assert daily.latest_fire_time(datetime(2026, 11, 2, 7, 59, tzinfo=UTC)) == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert daily.latest_fire_time(datetime(2026, 11, 2, 8, 0, tzinfo=UTC)) == datetime(2026, 11, 2, 8, tzinfo=UTC)
    weekly = Schedule.parse({"cron": "0 8 * * mon", "each": "open_round"}, WHERE)
    assert isinstance(weekly, Schedule)
    assert weekly.latest_fire_time(datetime(2026, 11, 5, 9, tzinfo=UTC)) is None
    assert weekly.matches("clock.open_round") and not weekly.matches("iteration.started")
