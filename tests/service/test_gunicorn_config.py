"""Web workers are spread over the CPUs, one each, least used first; a single CPU is left alone."""

from __future__ import annotations

import logging
import multiprocessing
import os
from types import SimpleNamespace

import pytest

from service import gunicorn_config


def master(*cpus_of_live_workers: int | None) -> SimpleNamespace:
    workers = {pid: SimpleNamespace(pvm_cpu=cpu) for pid, cpu in enumerate(cpus_of_live_workers, start=100)}
    return SimpleNamespace(WORKERS=workers, log=logging.getLogger("test.gunicorn"))


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_config.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})


@pytest.mark.parametrize(
    ("live", "chosen"),
    [((), 0), ((0,), 1), ((0, 1, 2), 3), ((0, 1, 2, 3), 0), ((0, 1, 1, 2, 3, 3), 0), ((1, 0, 2, 0), 3)],
)
def test_a_new_worker_takes_the_least_used_cpu(four_cpus: None, live: tuple[int, ...], chosen: int) -> None:
    worker = SimpleNamespace()
    gunicorn_config.pre_fork(master(*live), worker)
    assert worker.pvm_cpu == chosen


def test_a_replacement_worker_takes_the_cpu_its_predecessor_left(four_cpus: None) -> None:
    server = master(0, 1, 2, 3)
    del server.WORKERS[102]  # the worker on CPU 2 died
    worker = SimpleNamespace()
    gunicorn_config.pre_fork(server, worker)
    assert worker.pvm_cpu == 2


def test_one_cpu_is_not_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_config.os, "sched_getaffinity", lambda _pid: {5})
    worker = SimpleNamespace()
    gunicorn_config.pre_fork(master(), worker)
    assert worker.pvm_cpu is None


def _forked_worker(cpu: int | None, answer: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    gunicorn_config.post_fork(master(), SimpleNamespace(pvm_cpu=cpu))
    answer.put(sorted(os.sched_getaffinity(0)))


@pytest.mark.parametrize("pin", [True, False])
def test_the_forked_worker_runs_on_its_cpu_only(pin: bool) -> None:
    """In a child process, as gunicorn does it: pinning this test process would pin the whole test run."""
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if pin else None
    answer: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    child = multiprocessing.get_context("fork").Process(target=_forked_worker, args=(cpu, answer))
    child.start()
    child.join(timeout=30)
    assert answer.get(timeout=5) == ([cpu] if pin else allowed)


def test_without_affinity_calls_workers_are_left_to_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS has no sched_setaffinity: gunicorn must still start."""
    monkeypatch.delattr(gunicorn_config.os, "sched_setaffinity")
    worker = SimpleNamespace()
    gunicorn_config.pre_fork(master(), worker)
    gunicorn_config.post_fork(master(), worker)
    assert worker.pvm_cpu is None
