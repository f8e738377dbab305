"""The value log: append-only, hash-chained record of every value-relevant event."""

from service.valuelog.chain import (
    GENESIS_HASH,
    LogRecord,
    Pending,
    append,
    append_many,
    canonical_bytes,
    entry_hash,
    lock_for_append,
)
from service.valuelog.verify import VerifyResult, verify_database, verify_records

__all__ = [
    "GENESIS_HASH",
    "LogRecord",
    "Pending",
    "VerifyResult",
    "append",
    "append_many",
    "canonical_bytes",
    "entry_hash",
    "lock_for_append",
    "verify_database",
    "verify_records",
]
