"""gunicorn settings that belong to the code, loaded with `gunicorn --config python:service.gunicorn_config`.

Each web worker is pinned to a CPU of its own (round the CPUs the server may use, least used first). A worker runs
Python on one CPU at a time anyway (the GIL); what pinning saves is the hand-over of the GIL between its threads
on different CPUs, which on a virtual machine costs a cross-CPU wake-up every time a thread waits for the disk or
hashes a body. Measured on 2 vCPUs: 0.83 ms of CPU per delivery with one thread, 1.3 to 1.5 ms with 2 to 8 threads
free to move, 0.88 ms with the same threads on one CPU. Leave the option out to let the kernel place workers.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before forking: choose the CPU, so the master knows every live worker's choice."""
    # No affinity calls outside Linux (macOS, say): workers are then left where the kernel puts them.
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else []
    if len(cpus) < 2:
        worker.pvm_cpu = None
        return
    taken = Counter(getattr(other, "pvm_cpu", None) for other in server.WORKERS.values())
    worker.pvm_cpu = min(cpus, key=lambda cpu: (taken[cpu], cpu))


def post_fork(server: Any, worker: Any) -> None:
    """In the new worker: stay on the chosen CPU."""
    cpu = getattr(worker, "pvm_cpu", None)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
        server.log.info("worker %s pinned to CPU %d", os.getpid(), cpu)
