"""Redeliveries racing their original through a threaded server: each delivery acknowledged once with 202, every
other copy answered 200, stored once and processed once. The small version of `python -m bench.load`'s duplicates."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import func, select

from service import inbox
from service.runtime import runtime
from service.storage.models import Delivery, ValueLogEntry
from tests import deliveries
from tests.conftest import build_app, make_settings
from tests.processes import served
from tests.service.inbox import burst

COPIES = 3


def test_copies_sent_at_once_are_stored_once_and_processed_once(tmp_path: Path, database_url: str) -> None:
    app = build_app(make_settings(tmp_path, database_url))
    rt = runtime(app)
    originals = [
        (f"dup-{n}", deliveries.body_of(payload)) for n, (_, payload) in enumerate(burst.interleaved(range(1, 5)))
    ]
    sends = [item for item in originals for _ in range(COPIES)]
    random.Random(7).shuffle(sends)
    with served(app) as base:

        def send(item: tuple[str, bytes]) -> tuple[str, int]:
            delivery_id, body = item
            headers = deliveries.github_headers("issues", body, delivery_id)
            return delivery_id, requests.post(
                f"{base}/webhooks/github", data=body, headers=headers, timeout=30
            ).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(send, sends))
    per_delivery: dict[str, Counter[int]] = {}
    for delivery_id, status in answers:
        per_delivery.setdefault(delivery_id, Counter())[status] += 1
    assert all(counts == Counter({202: 1, 200: COPIES - 1}) for counts in per_delivery.values()), per_delivery
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == len(originals)
    while inbox.process_due(rt):
        pass
    with rt.transaction() as session:
        statuses = Counter(dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()))
        assert statuses == Counter({"processed": len(originals)})
        assert session.scalar(select(func.max(Delivery.attempts))) == 1
        for number in range(1, 5):
            kinds = session.scalars(
                select(ValueLogEntry.kind)
                .where(ValueLogEntry.subject == burst.key(number), ValueLogEntry.kind != "rule.fired")
                .order_by(ValueLogEntry.seq)
            ).all()
            # Copies arrive in any order, so a ticket's deliveries may be stored out of order (a stale one then logs
            # less); but no change is logged more often than the five deliveries applied once each would log.
            assert not Counter(kinds) - Counter(burst.EXPECTED_KINDS), kinds
    rt.engine.dispose()
