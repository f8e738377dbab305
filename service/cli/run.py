"""`pvm serve`, `pvm worker`, `pvm clock`: the runtime roles (see Procfile)."""

from __future__ import annotations

import signal
import sys
import threading

import click
from werkzeug.serving import make_server

from integrations import registry
from integrations.base import Integration
from service.cli.context import fail, load_app, load_runtime, require_schema
from service.clock import run_clock
from service.config import Settings
from service.runtime import Runtime, runtime
from service.storage import migrate
from service.valuelog import append_only, keys
from service.worker import Worker


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        click.echo(f"\n{signal.Signals(signum).name} received, shutting down...", err=True)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _announce(rt: Runtime, url: str) -> None:
    settings = rt.settings
    click.echo(f"Public Value Monitor on {url}  (health: {url}/healthz, API: {url}/api/v1)", err=True)
    # Every installed integration, plugins included: the same list the webhook endpoint serves.
    for name, integration in sorted(registry.all_integrations().items()):
        click.echo(f"  {name} webhooks: {url}/webhooks/{name}  ({webhook_state(settings, integration)})", err=True)
    click.echo(f"  instance folder: {settings.instance_dir}  (PVM_INSTANCE_DIR)", err=True)
    click.echo(f"  database: {settings.database_url if settings.is_sqlite else 'PostgreSQL (DATABASE_URL)'}", err=True)
    click.echo(f"  value log checkpoints signed as {settings.log_origin} with {keys.source(settings)}", err=True)
    click.echo("Press Ctrl-C to stop.", err=True)


def webhook_state(settings: Settings, integration: Integration) -> str:
    """What the start banner says of one tracker's webhook endpoint: what it answers, and what to set to change it."""
    variable = integration.secret_variable
    if integration.secret(settings):
        state = f"secret from {variable}, set"
    elif settings.allow_unsigned_webhooks:
        state = f"secret from {variable}, NOT set: deliveries are accepted UNSIGNED (PVM_ALLOW_UNSIGNED_WEBHOOKS)"
    else:
        state = f"secret from {variable}, NOT set: the endpoint answers 503 until it is"
    if integration.name not in settings.trackers:
        state += f"; not in PVM_TRACKERS, so its secret is not required: add {integration.name} there to switch it on"
    return state


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
    def serve(host: str, port: int) -> None:
        """Web, worker and clock in one process (the embedded default)."""
        app = load_app(create=True)  # zero-config: the embedded database in the per-user folder is made on first run
        rt = runtime(app)
        if rt.settings.is_sqlite:
            before, after = migrate.upgrade(rt.engine)  # the embedded database looks after itself
            if before != after:
                click.echo(f"database schema upgraded to {after}", err=True)
        else:
            require_schema(rt)
            append_only.warn_at_start(rt.engine, "serve")
        try:
            server = make_server(host, port, app, threaded=True)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port")
        stop = threading.Event()
        _stop_on_signals(stop)
        worker = Worker(rt, stop_event=stop)
        threads = [
            threading.Thread(target=server.serve_forever, name="web", daemon=True),
            threading.Thread(target=worker.run, name="worker", daemon=True),
            threading.Thread(target=run_clock, args=(rt, stop), name="clock", daemon=True),
        ]
        for thread in threads:
            thread.start()
        _announce(rt, f"http://{host}:{server.server_port}")
        stop.wait()
        server.shutdown()
        for thread in threads[1:]:
            thread.join(timeout=10)
        click.echo("stopped", err=True)

    @cli.command()
    def worker() -> None:
        """Process stored deliveries and send outbox actions until stopped."""
        rt = load_runtime()
        require_schema(rt)
        append_only.warn_at_start(rt.engine, "worker")
        stop = threading.Event()
        _stop_on_signals(stop)
        Worker(rt, stop_event=stop).run()

    @cli.command()
    def clock() -> None:
        """Run scheduled jobs; run exactly one clock per database."""
        rt = load_runtime()
        require_schema(rt)
        stop = threading.Event()
        _stop_on_signals(stop)
        sys.exit(run_clock(rt, stop))
