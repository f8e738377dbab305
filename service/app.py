"""The Flask application factory."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask

from service.config import ConfigError, Settings
from service.domain.taxonomy import TaxonomyError, load_for
from service.reactions import check_rules
from service.runtime import Runtime, close_db
from service.storage import private_files
from service.storage.engine import make_engine, make_session_factory
from service.valuelog.keys import development_key


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    prepare_instance_dir(settings.instance_dir)
    check_taxonomy(settings)
    check_rules(settings)  # a malformed rule pack stops the start, naming the file, rule and path
    if not settings.secret_key:  # outside production (checked at start): one made once per instance folder
        settings = settings.with_overrides(secret_key=_development_secret(settings.instance_dir))
    if not settings.log_signing_key:  # likewise the key that signs the value log's checkpoints
        settings = settings.with_overrides(log_signing_key=development_key(settings.instance_dir))
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_bytes
    engine = make_engine(settings)
    app.extensions["pvm"] = Runtime(settings, engine, make_session_factory(engine))
    app.teardown_appcontext(close_db)

    from service import api, http_boundary, rate_limits, security_headers, transport, web, webhooks

    transport.init_app(app, settings)
    security_headers.init_app(app)
    http_boundary.init_app(app)
    web.init_app(app)
    api.init_app(app)
    webhooks.init_app(app)
    rate_limits.init_app(app, settings)  # last: it wraps the views the blueprints registered
    logging.getLogger(__name__).debug("app created for %s", settings.env)
    return app


def check_taxonomy(settings: Settings) -> None:
    """An invalid taxonomy stops the start: every label, block and report would be judged against it."""
    try:
        load_for(settings.rules_dir)
    except TaxonomyError as exc:
        raise ConfigError(f"invalid taxonomy (PVM_RULES_DIR): {exc}; fix it, or remove it to use the default") from exc


def prepare_instance_dir(path: Path) -> None:
    """The folder holds the database, the development secret key and checkpoints: made readable by this user only.

    A folder that exists already keeps its mode (an operator may share it on purpose); the files in it are private
    anyway (service/storage/private_files.py)."""
    try:
        existed = path.is_dir()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not existed:
            path.chmod(0o700)  # mkdir's mode is narrowed by the umask only, never widened; this makes it exact
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"PVM_INSTANCE_DIR ({path}) is not writable: {exc.strerror}. "
            "Point PVM_INSTANCE_DIR at a folder this user can write."
        ) from exc


def _development_secret(instance_dir: Path) -> str:
    """Outside production a key is made once and kept in the instance folder, so sessions survive restarts."""
    key_file = instance_dir / "secret_key"
    if not key_file.exists():
        private_files.write_private(key_file, secrets.token_urlsafe(48))
    return key_file.read_text().strip()
