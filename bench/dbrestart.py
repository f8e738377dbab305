"""`bench.load` while PostgreSQL is stopped for 3 s and started again, a few seconds into the load.

    python -m bench.dbrestart            # 60 s of load
    python -m bench.dbrestart --quick    # 20 s

Needs Debian's `pg_ctlcluster` and the rights to run it (the server of PVM_BENCH_POSTGRES_URL on this machine); the
server is started again whatever happens. While it is down the endpoint answers 503 and nothing is stored; the
sender retries as trackers do. The service is not restarted: gunicorn and the workers must reconnect on their own.
Nothing acknowledged may be lost, every delivery must end processed and the log must verify, or the run exits 1.
"""

from __future__ import annotations

import sys

from bench.load import main

if __name__ == "__main__":
    sys.exit(main(fault="dbrestart"))
