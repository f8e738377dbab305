"""`pvm log verify|export|checkpoint|prove|consistency|key`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from service.cli.context import fail, load_runtime, require_schema
from service.config import Settings
from service.runtime import Runtime
from service.valuelog import checkpoint as checkpoints
from service.valuelog import keys
from service.valuelog.audit import Report, audit, audit_database
from service.valuelog.export import FORMATS, export_lines
from service.valuelog.note import NoteError, Verifier
from service.valuelog.proofs import ProofUnavailable, consistency_proof, inclusion_proof
from service.valuelog.publish import publish
from service.valuelog.verify import BATCH, file_records


def _progress(count: int) -> None:
    """Progress goes to standard error, every BATCH entries: standard output stays the result."""
    click.echo(f"... {count} entries verified", err=True)


def verify_json(report: Report) -> dict[str, object]:
    """`log verify --json`: the chain's result, then every problem and note; `ok` is the exit status's meaning."""
    return {
        **report.chain.as_dict(),
        "ok": report.ok,
        "problems": list(report.bad),
        "notes": list(report.notes),
        "lines": report.lines(),
    }


def _verifier(rt: Runtime, key: str | None) -> Verifier:
    """The key to check checkpoints with: --key (a verifier key, or a file holding one) or this service's own."""
    if key is None:
        return keys.verifier(rt.settings)
    path = Path(key)
    text = path.read_text(encoding="utf-8") if path.is_file() else key
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        fail(f"--key: {exc}", 2)


def print_proof(make: Callable[[Session, Settings], dict[str, Any]]) -> None:
    """A proof from the database as JSON on standard output, or the one-line reason there is none."""
    rt = load_runtime()
    require_schema(rt)
    with rt.transaction() as session:
        try:
            proof = make(session, rt.settings)
        except ProofUnavailable as exc:
            fail(str(exc))
    click.echo(json.dumps(proof, indent=2))


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
        "points",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A signed checkpoint kept outside the database; give two (older, newer) to check the log only grew.",
    )
    @click.option("--key", help="The log's verifier key (or a file holding it); default: this service's own key.")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object, for a script.")
    def verify(file_: Path | None, points: tuple[Path, ...], key: str | None, as_json: bool) -> None:
        """Check every hash and link, each checkpoint's root and signature, and the append-only triggers.

        Prints `OK <n> entries, head <hash>` or `BAD seq <n>: <why>` first, then what was checked; with --json an
        object {ok, entries, head, bad_seq, reason, problems, notes, lines}. Progress goes to standard error."""
        rt = load_runtime(check_database=file_ is None)
        legacy = [(path, checkpoints.LegacyCheckpoint.load(path)) for path in points]
        verifier = _verifier(rt, key) if any(point is None for _, point in legacy) else None
        signed = []
        for path, point in legacy:
            if point is None:
                assert verifier is not None
                try:
                    signed.append(checkpoints.SignedCheckpoint.load(path, verifier))
                except NoteError as exc:
                    fail(f"--checkpoint {exc}", 2)
        old_style = [point for _, point in legacy if point is not None]
        if file_ is not None:
            with file_.open(encoding="utf-8") as handle:
                try:
                    report = audit(file_records(handle), signed, progress=_progress)
                except ValueError as exc:
                    fail(f"{file_}: {exc}", 2)
            problems = [_check_legacy_in_file(file_, point) for point in old_style]
        else:
            require_schema(rt)
            with rt.transaction() as session:
                if not signed:  # the newest checkpoint the service itself signed, to say what is not covered yet
                    try:
                        stored = checkpoints.latest_signed(session, rt.settings)
                    except NoteError as exc:
                        fail(f"the newest checkpoint stored in the database does not verify: {exc}", 1)
                    signed = [stored] if stored else []
                report = audit_database(session, signed, _progress)
                problems = [checkpoints.check_legacy(session, point) for point in old_style]
        for problem in problems:
            if problem:
                report.bad.append(f"BAD checkpoint: {problem}")
        if as_json:
            click.echo(json.dumps(verify_json(report), indent=2, ensure_ascii=False))
        else:
            for line in report.lines():
                click.echo(line)
        sys.exit(0 if report.ok else 1)

    @log_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
    @click.option("--after", type=click.IntRange(min=0), default=0, help="Only entries with a larger seq.")
    def export(fmt: str, after: int) -> None:
        """Stream entries to standard output in seq order; progress goes to standard error."""
        rt = load_runtime()
        require_schema(rt)
        count = -1 if fmt == "csv" else 0  # CSV's first chunk is its header, not an entry
        with rt.transaction() as session:
            for chunk in export_lines(session, fmt, after):
                sys.stdout.write(chunk)
                count += 1
                if count > 0 and count % BATCH == 0:
                    click.echo(f"... {count} entries exported", err=True)
        sys.stdout.flush()
        click.echo(f"{count} entries exported", err=True)

    @log_group.command("checkpoint")
    @click.option("--publish/--no-publish", "send", default=False, help="Also publish it as the clock does.")
    def checkpoint(send: bool) -> None:
        """Sign the current head (size and Merkle root) and print it as a C2SP signed note; keep it outside the
        database, where its admins cannot write."""
        rt = load_runtime()
        require_schema(rt)
        try:
            with rt.transaction() as session:
                issued = checkpoints.issue(session, rt.settings)
                if issued and send:
                    publish(rt, session, issued[0])
        except checkpoints.CheckpointRefused as exc:
            fail(str(exc))
        if issued is None:
            fail("the value log is empty; nothing to checkpoint yet")
        point, new = issued
        if not new:
            click.echo(f"the head (size {point.size}) was signed already; the same checkpoint:", err=True)
        sys.stdout.write(point.note)

    @log_group.command("prove")
    @click.argument("seq", type=click.IntRange(min=1))
    @click.option("--size", type=click.IntRange(min=1), help="Tree size; default: the newest signed checkpoint.")
    def prove(seq: int, size: int | None) -> None:
        """Print the inclusion proof of entry SEQ (RFC 9162 audit path) as JSON."""
        print_proof(lambda session, settings: inclusion_proof(session, settings, seq, size))

    @log_group.command("consistency")
    @click.argument("old", type=click.IntRange(min=1))
    @click.argument("new", type=click.IntRange(min=1), required=False)
    def consistency(old: int, new: int | None) -> None:
        """Print the proof that the log of NEW entries (default: the newest checkpoint) extends the one of OLD."""
        print_proof(lambda session, settings: consistency_proof(session, settings, old, new))

    @log_group.command("key")
    def key() -> None:
        """Print the verifier key of the checkpoints' signatures, to publish (it is public)."""
        rt = load_runtime(check_database=False)
        click.echo(f"signed with {keys.source(rt.settings)}", err=True)
        click.echo(keys.verifier(rt.settings).vkey())


def _check_legacy_in_file(path: Path, point: checkpoints.LegacyCheckpoint) -> str | None:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                if entry["seq"] == point.seq:
                    return None if entry["hash"] == point.hash else f"seq {point.seq} differs from the checkpoint"
    return f"checkpoint seq {point.seq} is not in {path}"
