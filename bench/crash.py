"""`bench.load` while `kill -9` hits a gunicorn worker and a `pvm worker` in turn every few seconds (`--every`).

    python -m bench.crash            # 60 s of load
    python -m bench.crash --quick    # 20 s

gunicorn's master starts a killed web worker again; the killed `pvm worker` is started again at once, as a Procfile
runner or systemd would. The sender retries what got no answer, as trackers do. Nothing acknowledged may be lost
or stored twice, every delivery must end processed (a killed worker's claims are taken over when their lease,
PVM_WORKER_LEASE, 15 s here, runs out), and the value log must verify; otherwise the run exits 1.
"""

from __future__ import annotations

import sys

from bench.load import main

if __name__ == "__main__":
    sys.exit(main(fault="crash"))
