"""The daily pull of indicator readings: each measure that names a source_url is read once a day into its readings.

The clock calls `pull_readings` once a day. Each hypothesis is read under its own `run_once` key
`reading:<hypothesis>:<date>`, so two clocks or a re-run on the same day add no second reading. A source that cannot
be read is logged with the hypothesis id and the reason; its key is released, so the next day's pull tries again,
and the other hypotheses and the clock go on. Requests go through the pinned HTTP client: the address guard is
asked again before each one, the request goes to the address it checked, and a redirect is not followed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from service.address_guard import AddressRefused
from service.hypotheses import commands, sources
from service.jobs import run_once
from service.pinned_http import HttpFailure, PinnedHttp
from service.runtime import Runtime
from service.storage.models import Hypothesis

log = logging.getLogger(__name__)

ACTOR = "clock"
ACCEPT = {"path": "application/json", "column": "text/csv"}


class PullFailed(Exception):
    """A source that could not be read today; the message says why (no URL: it may carry an access key)."""


@dataclass
class Pulled:
    read: int = 0
    already: int = 0  # read earlier today
    failed: int = 0


def pull_readings(runtime: Runtime, today: date | None = None, http: PinnedHttp | None = None) -> Pulled:
    """Read every measure with a source_url that has not been read today; never raises for one bad source."""
    day = today or datetime.now(UTC).date()
    client = http or PinnedHttp.from_settings(runtime.settings)
    with runtime.transaction() as session:
        found = session.execute(
            select(Hypothesis.id, Hypothesis.measure).where(Hypothesis.status != "retired").order_by(Hypothesis.id)
        ).all()
    result = Pulled()
    for hypothesis_id, measure in found:
        if not isinstance(measure, dict) or not measure.get("source_url"):
            continue
        try:
            ran = run_once(runtime, f"reading:{hypothesis_id}:{day.isoformat()}", _job(hypothesis_id, day, client))
        except PullFailed as exc:
            result.failed += 1
            log.warning("readings: hypothesis %s was not read: %s; trying again tomorrow", hypothesis_id, exc)
        except Exception:  # a bug or a database hiccup: logged, and the other sources still run
            result.failed += 1
            log.exception("readings: hypothesis %s failed unexpectedly; trying again tomorrow", hypothesis_id)
        else:
            if ran:
                result.read += 1
            else:
                result.already += 1
    if result.read or result.failed:
        log.info("readings: %s read, %s failed, %s already read on %s", result.read, result.failed, result.already, day)
    return result


def _job(hypothesis_id: int, day: date, client: PinnedHttp) -> Any:
    def job(runtime: Runtime) -> None:
        with runtime.transaction() as session:
            hypothesis = session.get(Hypothesis, hypothesis_id)
            measure = dict(hypothesis.measure or {}) if hypothesis is not None else {}
        url = measure.get("source_url")
        if not url:
            return  # the source was removed since the list was taken
        value = read_source(client, url, measure)
        with runtime.transaction() as session:
            hypothesis = session.get(Hypothesis, hypothesis_id)
            if hypothesis is None or (hypothesis.measure or {}).get("source_url") != url:
                return  # deleted or re-pointed while the request was under way: this value is not its measure's
            commands.add_reading(
                session, hypothesis, value=value, on=day, reading_source=url, actor=ACTOR, source=ACTOR
            )
        log.info("readings: hypothesis %s read %s", hypothesis_id, value)

    return job


def read_source(client: PinnedHttp, url: str, measure: dict[str, Any]) -> float:
    """The number, or PullFailed saying why not."""
    accept = ACCEPT["path" if measure.get("path") else "column"]
    try:
        answer = client.request("GET", url, headers={"Accept": f"{accept}, */*;q=0.5"})
    except AddressRefused as exc:
        raise PullFailed(f"the source address is refused: {exc}") from None
    except HttpFailure as exc:
        raise PullFailed(f"the source did not answer: {exc.message}") from None
    if 300 <= answer.status < 400:
        raise PullFailed(f"the source answered {answer.status}, a redirect, which is not followed: set the final URL")
    if not 200 <= answer.status < 300:
        raise PullFailed(f"the source answered {answer.status}")
    if answer.truncated:
        raise PullFailed(f"the source's answer is larger than {client.read_limit} bytes")
    try:
        return sources.read(answer.body, measure)
    except sources.Unreadable as exc:
        raise PullFailed(str(exc)) from None
