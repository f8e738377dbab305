"""Once-keys: the first claim wins, a repeat is refused, a rolled-back claim is free again, on both engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from service import once_keys
from service.domain import once
from service.runtime import runtime
from service.storage.models import OnceKey
from tests.conftest import build_app, make_settings


def test_the_first_claim_wins_and_a_repeat_is_refused(any_app: Flask) -> None:
    key = once.alert_raised_in("divergence", "github:acme/portal#34", None)
    with runtime(any_app).transaction() as session:
        assert not once_keys.claimed(session, key)
        assert once_keys.claim(session, key) is True
        assert once_keys.claim(session, key) is False
        assert once_keys.claimed(session, key)
    with runtime(any_app).transaction() as session:
        assert once_keys.claim(session, key) is False  # committed: still refused in a later transaction
        [row] = session.scalars(select(OnceKey))
        assert row.key == '["value.alert","divergence","github:acme/portal#34",null]'


def test_a_claim_rolled_back_with_its_savepoint_is_free_again(any_app: Flask) -> None:
    key = once.rule_fired("ex-ante-nudge", "epic.key=jira:PORT-1 iteration.key=jira:sprint/37")
    with runtime(any_app).transaction() as session:
        savepoint = session.begin_nested()
        assert once_keys.claim(session, key)
        savepoint.rollback()
        assert not once_keys.claimed(session, key)
        assert once_keys.claim(session, key)


def test_parts_that_look_alike_joined_make_different_keys() -> None:
    # A separator would make ("a:b", "c") and ("a", "b:c") one key; tracker keys and alert types contain colons.
    assert once.alert_raised("a:b", "c") != once.alert_raised("a", "b:c")
    assert once.alert_raised("t", "jira:P-1") != once.alert_raised_in("t", "jira:P-1", None)
    long_reason = "the pilot showed no effect " * 400  # free text: the digest, not the key, is indexed
    assert len(once_keys.digest(once.hypothesis_status(1, "refuted", long_reason))) == 64


@pytest.mark.postgres
@pytest.mark.parametrize("first_commits", [True, False])
def test_two_workers_claiming_one_key_on_postgresql(tmp_path: Path, postgres_url: str, first_commits: bool) -> None:
    """The second waits for the first: refused if the first committed, granted if it rolled back."""
    app = build_app(make_settings(tmp_path, postgres_url))
    rt = runtime(app)
    key = once.ticket_created("jira:PORT-11")
    first_claimed, results = threading.Event(), {}

    def first() -> None:
        session = rt.sessions()
        with session.begin() as transaction:
            results["first"] = once_keys.claim(session, key)
            first_claimed.set()
            threading.Event().wait(0.5)  # the second worker is waiting on this claim meanwhile
            if not first_commits:
                transaction.rollback()
        session.close()

    def second() -> None:
        first_claimed.wait(10)
        with rt.transaction() as session:
            results["second"] = once_keys.claim(session, key)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"first": True, "second": not first_commits}
    rt.engine.dispose()
