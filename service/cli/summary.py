"""`pvm summary ITERATION`: the sprint value summary on standard output, for a script or a terminal."""

from __future__ import annotations

import json

import click

from service.cli.context import fail, load_runtime, require_schema
from service.domain.taxonomy import load_for
from service.summaries.compute import UnknownFramework, UnknownIteration, summarise
from service.summaries.formats import to_csv, to_json, to_markdown


def register(cli: click.Group) -> None:
    @cli.command("summary")
    @click.argument("iteration", metavar="ITERATION")
    @click.option(
        "--format",
        "chosen",
        type=click.Choice(["json", "md", "csv"]),
        default="md",
        show_default=True,
        help="json for scripts, md for a tracker comment or a terminal, csv for a spreadsheet.",
    )
    @click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
    @click.option("--framework", help="Regroup the value dimensions by one of the taxonomy's frameworks.")
    def summary(iteration: str, chosen: str, as_json: bool, framework: str | None) -> None:
        """The sprint value summary of ITERATION (a key such as jira:sprint/37 or github:owner/repo/milestone/3)."""
        if as_json:
            chosen = "json"
        rt = load_runtime()
        require_schema(rt)
        taxonomy = load_for(rt.settings.rules_dir)
        try:
            with rt.transaction() as session:
                found = summarise(session, taxonomy, iteration, framework)
        except (UnknownIteration, UnknownFramework) as exc:
            fail(str(exc.args[0]))
        if chosen == "json":
            click.echo(json.dumps(to_json(found), indent=2, ensure_ascii=False))
        else:
            click.echo(to_markdown(found) if chosen == "md" else to_csv(found), nl=False)
