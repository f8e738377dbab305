"""The clock: APScheduler jobs that turn time into work. Exactly one clock may run (guarded by a lock)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, text

from service.checkins import rounds
from service.hypotheses.pull import pull_readings
from service.jobs import run_once
from service.reactions import run_scheduled
from service.runtime import Runtime
from service.valuelog import append_only, checkpoint
from service.valuelog.publish import publish

log = logging.getLogger(__name__)

_PG_CLOCK_LOCK = 0x7076_6D63  # "pvmc"
# APScheduler's default grace is 1 s: a job delayed by a busy machine would be skipped silently.
MISFIRE_GRACE_SECONDS = 15 * 60


def write_checkpoint(runtime: Runtime) -> None:
    """Sign the log's head and send the checkpoint out of the database (publish.py), so history up to it cannot
    be rewritten unnoticed; `pvm log verify --checkpoint` checks the log against any copy."""
    with runtime.transaction() as session:
        issued = checkpoint.issue(session, runtime.settings)
        if issued is None:
            return
        point, _new = issued
        sent = publish(runtime, session, point)
    log.info("clock: checkpoint of size %s signed and sent to %s", point.size, ", ".join(sent))


def daily_checkpoint(runtime: Runtime) -> None:
    """Once a day (key `checkpoint:<date>`); a refusal (the log no longer extends the last checkpoint) is logged
    loudly and the key forgotten, so the next day tries again."""
    try:
        run_once(runtime, f"checkpoint:{datetime.now(UTC):%Y-%m-%d}", write_checkpoint)
    except checkpoint.CheckpointRefused as exc:
        log.error("clock: no checkpoint signed today: %s", exc)


def scheduled_rules(runtime: Runtime) -> None:
    """Rules with a `schedule`: each fire time runs once (keys `rule:<id>:<time>`), so a re-run changes nothing."""
    fired = run_scheduled(runtime, datetime.now(UTC))
    if fired:
        log.info("clock: scheduled rules fired %s time(s)", fired)


def checkins_due(runtime: Runtime) -> None:
    """Ask, remind and close the check-in rounds that are due; each unit of work happens once (checkins/rounds.py)."""
    rounds.run_due(runtime)


def daily_readings(runtime: Runtime) -> None:
    """Read each measure's source_url once a day (keys `reading:<hypothesis>:<date>`); a bad source is logged and
    tried again the next day, and never stops the clock."""
    try:
        pull_readings(runtime)
    except Exception:  # the database was unreachable, say: tomorrow's run tries again
        log.exception("clock: the readings pull failed; it runs again tomorrow")


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"misfire_grace_time": MISFIRE_GRACE_SECONDS, "coalesce": True, "max_instances": 1},
    )
    scheduler.add_job(daily_checkpoint, "cron", hour=0, minute=5, args=[runtime], id="daily_checkpoint")
    # Early morning UTC: most published figures are updated overnight.
    scheduler.add_job(daily_readings, "cron", hour=4, minute=15, args=[runtime], id="daily_readings")
    # Every 5 minutes is fine-grained enough for the packs' cron times; each fire time runs once.
    scheduler.add_job(scheduled_rules, "cron", minute="*/5", args=[runtime], id="scheduled_rules")
    # Every minute: a round opened by a starting sprint asks its stakeholders within a minute.
    scheduler.add_job(checkins_due, "cron", minute="*", args=[runtime], id="checkins_due")
    return scheduler


class ClockLock:
    """PostgreSQL: a session advisory lock held for the clock's life. SQLite: one process, nothing to guard."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        if self.runtime.engine.dialect.name != "postgresql":
            return True
        self.connection = self.runtime.engine.connect()
        got = self.connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_CLOCK_LOCK}).scalar()
        self.connection.commit()
        if not got:
            self.connection.close()
            self.connection = None
        return bool(got)

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()  # closing the session releases the advisory lock
            self.connection = None


def run_clock(runtime: Runtime, stop: threading.Event) -> int:
    """Blocks until `stop` is set; returns a process exit code."""
    append_only.warn_at_start(runtime.engine, "clock")
    lock = ClockLock(runtime)
    if not lock.acquire():
        log.error("clock: another clock holds the lock; run exactly one `pvm clock` per database")
        return 1
    scheduler = build_scheduler(runtime)
    scheduler.start()
    log.info("clock started with jobs: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        lock.release()
        log.info("clock stopped")
    return 0
