"""`pvm`: the command line. Each area's commands live in their own module and are registered here."""

from __future__ import annotations

import click

from service import logs
from service.cli import db, labels, log, outbox, replay, rules, run, stakeholders, summary, tokens


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def cli(verbose: bool) -> None:
    """Public Value Monitor: keeps public value in the sprint rhythm."""
    logs.configure(verbose)


for module in (run, db, tokens, log, replay, rules, outbox, labels, stakeholders, summary):
    module.register(cli)


def main() -> None:
    cli(prog_name="pvm")
