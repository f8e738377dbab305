"""Process logging: one setup for every entry point (`pvm ...` and gunicorn's `service.wsgi:app`).

Without it a gunicorn web process would print only warnings, bare: the INFO lines that say which delivery was
stored or refused, and why, would be lost.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(verbose: bool = False) -> None:
    """INFO (DEBUG when verbose) to standard error; gunicorn's own loggers keep their handlers."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT, stream=sys.stderr)
    if not verbose:  # Alembic's per-connection chatter hides the one line a user needs
        logging.getLogger("alembic").setLevel(logging.WARNING)
