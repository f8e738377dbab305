"""`pvm log verify|export|checkpoint`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.cli.context import fail, load_runtime, require_schema
from service.valuelog import checkpoint as checkpoints
from service.valuelog.export import FORMATS, export_lines
from service.valuelog.verify import file_records, verify_database, verify_records


def _progress(count: int) -> None:
    click.echo(f"... {count} entries verified", err=True)


def register(cli: click.Group) -> None:
    @cli.group("log")
    def log_group() -> None:
        """The value log."""

    @log_group.command("verify")
    @click.option(
        "--file",
        "file_",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Verify an exported JSON Lines file instead of the database.",
    )
    @click.option(
        "--checkpoint",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Also check that the entry recorded by `pvm log checkpoint` is unchanged.",
    )
    def verify(file_: Path | None, checkpoint: Path | None) -> None:
        """Check every hash and link; print `OK <n> entries, head <hash>` or the first bad seq."""
        point = None
        if checkpoint is not None:
            try:
                point = checkpoints.Checkpoint.load(checkpoint)
            except ValueError as exc:
                fail(str(exc), 2)
        if file_ is not None:
            with file_.open(encoding="utf-8") as handle:
                try:
                    result = verify_records(file_records(handle), _progress)
                except ValueError as exc:
                    fail(f"{file_}: {exc}", 2)
            problem = _check_point_in_file(file_, point) if point and result.ok else None
        else:
            rt = load_runtime()
            require_schema(rt)
            with rt.transaction() as session:
                result = verify_database(session, _progress)
                problem = checkpoints.check(session, point) if point and result.ok else None
        if problem:
            click.echo(f"BAD checkpoint: {problem}")
            sys.exit(1)
        click.echo(result.line())
        sys.exit(0 if result.ok else 1)

    @log_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
    @click.option("--after", type=click.IntRange(min=0), default=0, help="Only entries with a larger seq.")
    def export(fmt: str, after: int) -> None:
        """Stream entries to standard output in seq order."""
        rt = load_runtime()
        require_schema(rt)
        with rt.transaction() as session:
            for chunk in export_lines(session, fmt, after):
                sys.stdout.write(chunk)

    @log_group.command("checkpoint")
    def checkpoint() -> None:
        """Print the current head as JSON; keep it somewhere the database's admins cannot write."""
        rt = load_runtime()
        require_schema(rt)
        with rt.transaction() as session:
            point = checkpoints.take(session)
        if point is None:
            fail("the value log is empty; nothing to checkpoint yet")
        click.echo(point.to_json())


def _check_point_in_file(path: Path, point: checkpoints.Checkpoint) -> str | None:
    import json

    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                if entry["seq"] == point.seq:
                    return None if entry["hash"] == point.hash else f"seq {point.seq} differs from the checkpoint"
    return f"checkpoint seq {point.seq} is not in {path}"
