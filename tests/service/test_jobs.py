import pytest
from sqlalchemy import select

from service.jobs import run_once
from service.storage.models import ClockRun


def test_a_job_runs_once_per_key(rt) -> None:
    ran: list[str] = []
    assert run_once(rt, "checkpoint:2026-11-28", lambda _rt: ran.append("a")) is True
    assert run_once(rt, "checkpoint:2026-11-28", lambda _rt: ran.append("b")) is False
    assert run_once(rt, "checkpoint:2026-11-29", lambda _rt: ran.append("c")) is True
    assert ran == ["a", "c"]


def test_a_failed_job_is_tried_again_at_the_next_tick(rt) -> None:
    def broken(_rt) -> None:
        raise RuntimeError("SMTP down")

    with pytest.raises(RuntimeError):
        run_once(rt, "rule:escalate:2026-11-28T09:00Z", broken)
    with rt.transaction() as session:
        assert session.scalars(select(ClockRun.key)).all() == []
    assert run_once(rt, "rule:escalate:2026-11-28T09:00Z", lambda _rt: None) is True
