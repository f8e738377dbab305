"""The taxonomy in force: the project's (PVM_RULES_DIR) or the default, for callers with only a session."""

from __future__ import annotations

from flask import current_app, has_app_context

from service.config import Settings
from service.domain.taxonomy import Taxonomy, load_for


def current_taxonomy() -> Taxonomy:
    if has_app_context():
        return load_for(current_app.extensions["pvm"].settings.rules_dir)
    # Worker and CLI without an app: the settings are read the one sanctioned way.
    return load_for(Settings.from_env().rules_dir)
