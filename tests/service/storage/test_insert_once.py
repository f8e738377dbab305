"""Two transactions inserting the same row at once: the first commit wins, the other goes on with its row."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.runtime import runtime
from service.storage.insert_once import insert_once
from service.storage.models import Iteration, Label, Ticket
from tests.conftest import build_app, make_settings

KEY = "github:acme/portal#7"


def _ticket(title: str) -> Ticket:
    return Ticket(key=KEY, source="github", title=title, state="open", is_epic=False)


@pytest.mark.postgres
def test_the_second_insert_waits_for_the_first_then_reads_its_row(tmp_path: Path, postgres_url: str) -> None:
    rt = runtime(build_app(make_settings(tmp_path, postgres_url)))
    inserted, outcome = threading.Event(), {}

    def second_worker() -> None:
        inserted.wait(10)
        with rt.transaction() as session:
            # Blocks on the first worker's uncommitted row, then fails on its key once that commits.
            row, created = insert_once(session, _ticket("second"), lambda: session.get(Ticket, KEY))
            outcome.update(title=row.title, created=created)
            row.description = "the second worker's change, made in the same transaction"

    other = threading.Thread(target=second_worker)
    other.start()
    with rt.transaction() as session:
        row, created = insert_once(session, _ticket("first"), lambda: session.get(Ticket, KEY))
        assert created and row.title == "first"
        inserted.set()
        other.join(0.5)
        assert other.is_alive()  # waiting for this transaction to decide
    other.join(10)
    assert outcome == {"title": "first", "created": False}
    with rt.transaction() as session:
        stored = session.get(Ticket, KEY)
        assert stored is not None and (stored.title, stored.description) == (
            "first",
            "the second worker's change, made in the same transaction",
        )
    rt.engine.dispose()


def test_a_new_row_is_inserted_and_said_so(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        row, created = insert_once(session, Iteration(key="jira:sprint/1", source="jira"), lambda: None)
        assert created and row.key == "jira:sprint/1"
    with runtime(any_app).transaction() as session:
        assert session.scalars(select(Iteration.key)).all() == ["jira:sprint/1"]


def test_a_row_already_there_is_read_and_the_transaction_goes_on(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session:
        session.add(_ticket("stored"))
    with runtime(any_app).transaction() as session:
        # As if it was looked for before the other transaction committed it: the insert meets the key.
        row, created = insert_once(session, _ticket("mine"), lambda: session.get(Ticket, KEY))
        assert not created and row.title == "stored"
        session.add(Label(ticket_key=KEY, name="value:transparency"))
    with runtime(any_app).transaction() as session:
        assert session.scalars(select(Label.name)).all() == ["value:transparency"]


def test_another_constraint_violation_is_not_taken_for_a_lost_race(any_app: Flask) -> None:
    with runtime(any_app).transaction() as session, pytest.raises(IntegrityError):
        # No such ticket: the foreign key refuses it, and there is no winner's row to read.
        insert_once(session, Label(ticket_key="github:acme/portal#404", name="x"), lambda: None)
