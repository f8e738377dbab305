"""The value log: append-only, hash-chained record of every value-relevant event."""

from service.valuelog.chain import GENESIS_HASH, LogRecord, append, canonical_bytes, entry_hash
from service.valuelog.verify import VerifyResult, verify_database, verify_records

__all__ = [
    "GENESIS_HASH",
    "LogRecord",
    "VerifyResult",
    "append",
    "canonical_bytes",
    "entry_hash",
    "verify_database",
    "verify_records",
]
