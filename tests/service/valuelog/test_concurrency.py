"""Concurrent appenders still form one unbroken chain: no gaps, no forks, verify OK."""

import multiprocessing
import threading
from pathlib import Path

import pytest

from service import valuelog
from service.storage.engine import make_engine, make_session_factory, transaction
from service.valuelog import verify_database
from tests.conftest import build_app, make_settings

APPENDS = 250
WRITERS = 4


def _append_many(database_url: str, instance_dir: str, writer: int) -> None:
    engine = make_engine(make_settings(Path(instance_dir), database_url))
    sessions = make_session_factory(engine)
    for n in range(APPENDS):
        with transaction(sessions) as session:
            valuelog.append(
                session,
                kind="checkin.answered",
                subject=f"round:{writer}",
                data={"writer": writer, "n": n},
                actor=f"writer-{writer}",
                source="test",
            )
    engine.dispose()


def _check_chain(database_url: str, instance_dir: Path) -> None:
    engine = make_engine(make_settings(instance_dir, database_url))
    with transaction(make_session_factory(engine)) as session:
        result = verify_database(session)
    engine.dispose()
    assert result.ok, result.line()
    assert result.entries == APPENDS * WRITERS


@pytest.mark.postgres
def test_four_processes_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    build_app(make_settings(tmp_path, postgres_url))
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_append_many, args=(postgres_url, str(tmp_path), w)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
        assert process.exitcode == 0
    _check_chain(postgres_url, tmp_path)


def test_four_threads_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    build_app(make_settings(tmp_path, url))
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            _append_many(url, str(tmp_path), writer)
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_chain(url, tmp_path)
