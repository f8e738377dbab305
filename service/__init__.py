"""Public Value Monitor: the service (app factory, storage, value log, pipeline, API, CLI)."""
