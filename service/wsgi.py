"""WSGI entry point for gunicorn (`gunicorn service.wsgi:app`); fails at start with one line on bad config."""

from __future__ import annotations

import sys

from service import logs
from service.app import create_app
from service.config import ConfigError
from service.runtime import runtime
from service.valuelog import append_only

logs.configure()
try:
    app = create_app()
    runtime(app).check_database()
except ConfigError as exc:
    print(f"pvm: {exc}", file=sys.stderr)
    sys.exit(2)
append_only.warn_at_start(runtime(app).engine, "web")
