"""Exporting the value log as JSON Lines or CSV, streamed in `seq` order with a stable field order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import ValueLogEntry
from service.valuelog.chain import HASHED_FIELDS, LogRecord
from service.valuelog.query import LogFilter, batches

FIELD_ORDER = (*HASHED_FIELDS, "hash")
FORMATS = ("jsonl", "csv")
PAGE = 2000


def iter_records(
    session: Session,
    after: int = 0,
    *,
    log_filter: LogFilter | None = None,
    upto: int | None = None,
    release: bool = False,
) -> Iterator[LogRecord]:
    """Entries with seq > `after` (and <= `upto`, so a download ends where it began), in seq order, PAGE at a time;
    `release` as in query.batches."""
    query = select(ValueLogEntry)
    if log_filter is not None:
        query = log_filter.apply(query)
    if upto is not None:
        query = query.where(ValueLogEntry.seq <= upto)
    for rows in batches(session, query, after=after, size=PAGE, release=release):
        for row in rows:
            yield LogRecord.from_row(row)


def export_lines(
    session: Session,
    fmt: str,
    after: int = 0,
    *,
    log_filter: LogFilter | None = None,
    upto: int | None = None,
    release: bool = False,
) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    records = iter_records(session, after, log_filter=log_filter, upto=upto, release=release)
    if fmt == "jsonl":
        for record in records:
            entry = record.as_dict()
            yield json.dumps({k: entry[k] for k in FIELD_ORDER}, ensure_ascii=False, separators=(",", ":")) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELD_ORDER)
    yield _drain(buffer)
    for record in records:
        entry = record.as_dict()
        # `data` is a JSON object; in CSV it travels as its JSON text.
        writer.writerow(
            [json.dumps(entry[k], ensure_ascii=False, sort_keys=True) if k == "data" else entry[k] for k in FIELD_ORDER]
        )
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value
