"""The value log: append-only, hash-chained record of every value-relevant event."""

from service.valuelog.chain import GENESIS_HASH, LogRecord, append, canonical_bytes, entry_hash, lock_for_append
from service.valuelog.verify import VerifyResult, verify_database, verify_records

__all__ = [
    "GENESIS_HASH",
    "LogRecord",
    "VerifyResult",
    "append",
    "canonical_bytes",
    "entry_hash",
    "lock_for_append",
    "verify_database",
    "verify_records",
]
