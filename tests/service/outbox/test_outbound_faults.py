"""Comments and labels through a real HTTP stand-in of GitHub that answers 403 rate-limit, 429 Retry-After, 502 and
times out after accepting, one write in two: every action lands exactly once. The small version of
`python -m bench.outbound` (its stand-in), on a fake clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bench import outbound
from service.outbox import enqueue
from service.outbox.dispatch import Dispatcher
from service.runtime import runtime
from service.storage.models import OutboxItem
from tests.conftest import build_app, make_settings
from tests.service.outbox.fakes import FakeClock

ISSUE = "github:city-council/permits#7"


@pytest.fixture
def stand_in() -> Iterator[tuple[outbound.StandIn, str]]:
    state = outbound.StandIn(every=2)
    server = outbound._Server(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_action_lands_once_through_rate_limits_errors_and_late_answers(
    tmp_path: Path, stand_in: tuple[outbound.StandIn, str]
) -> None:
    state, url = stand_in
    app = build_app(
        make_settings(
            tmp_path, github_token="ghp_test", github_api_url=url, tracker_timeout=outbound.TIMEOUT, worker_lease=10.0
        )
    )
    rt = runtime(app)
    clock = FakeClock()
    with rt.transaction() as session:
        for n in range(8):
            body = {"text": f"Prompt {n}: how did it go?"} if n % 2 == 0 else {"label": f"value:bench-{n}"}
            item = enqueue(
                session, tracker="github", action="comment" if n % 2 == 0 else "add_label", target=ISSUE, body=body
            )
            item.created_at = item.next_attempt_at = clock.now
    dispatcher = Dispatcher(rt, clock=clock, rng=random.Random(3))
    for _ in range(200):
        dispatcher.dispatch_due()
        with rt.transaction() as session:
            rows = session.scalars(select(OutboxItem)).all()
            if all(row.status == "sent" for row in rows):
                break
            waiting = [row.next_attempt_at for row in rows if row.status in ("pending", "failed")]
            # Time passes on the fake clock to the next write's turn (pacing, backoff, Retry-After, the reset).
            clock.now = max([clock.now + timedelta(seconds=1), *waiting[:1]])
    assert {row.status for row in rows} == {"sent"}, [(row.id, row.status, row.error) for row in rows]
    assert set(state.faults) == set(outbound.FAULTS)  # each fault was met
    bodies = [comment["body"] for comment in state.comments["city-council/permits#7"]]
    for n in range(0, 8, 2):
        assert sum(f"Prompt {n}:" in body for body in bodies) == 1, bodies  # the late-answered one not re-posted
    assert state.labels["city-council/permits#7"] == {f"value:bench-{n}" for n in range(1, 8, 2)}
    rt.engine.dispose()
