"""The Merkle tree over the value log, kept in `value_log_tree` as perfect subtrees keyed by (level, index).

The leaf of entry `seq` is its index `seq - 1` and its leaf hash is SHA-256(0x00 || the 32 bytes of the entry's
`hash`), so anyone holding an entry's hash (a citizen's receipt, say) can recompute it. Nodes are filled when a
checkpoint is signed, reading only the entries added since the last one, after checking that those entries hash
and chain correctly; a root or a proof then reads O(log n) rows in one query, however long the log is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from service.storage.models import ValueLogEntry, ValueLogNode
from service.valuelog import merkle
from service.valuelog.chain import GENESIS_HASH, entry_hash

BATCH = 2000
_FETCH = 400  # (level, index) pairs per query; proofs over 2**62 entries need fewer than this
_PG_TREE_LOCK = 0x7076_6D74  # "pvmt": one filler at a time, so two checkpoints cannot insert the same node


class TreeError(Exception):
    """The tree cannot be extended or read as asked; the message names the seq or size and what to do."""


def filled_size(session: Session) -> int:
    """How many entries the stored tree covers (its level-0 nodes)."""
    top = session.scalar(select(func.max(ValueLogNode.idx)).where(ValueLogNode.level == 0))
    return 0 if top is None else int(top) + 1


def fetch(session: Session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    keys = sorted(wanted)
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(keys), _FETCH):
        chunk = keys[start : start + _FETCH]
        rows = session.execute(
            select(ValueLogNode.level, ValueLogNode.idx, ValueLogNode.hash).where(
                tuple_(ValueLogNode.level, ValueLogNode.idx).in_(chunk)
            )
        )
        found.update({(row.level, row.idx): bytes(row.hash) for row in rows})
    return found


def _compute(session: Session, compute: Callable[[merkle.Nodes], bytes | list[bytes]], size: int) -> object:
    """Run `compute` over the stored nodes, fetching all it needs in one go."""
    stored = fetch(session, merkle.needed(compute))

    def nodes(level: int, index: int) -> bytes:
        try:
            return stored[(level, index)]
        except KeyError:
            raise TreeError(
                f"the stored tree lacks the subtree at level {level}, index {index}, which a tree of {size} entries "
                "needs; nodes are added when a checkpoint is signed (`pvm log checkpoint`)"
            ) from None

    return compute(nodes)


def _covered(session: Session, size: int) -> None:
    filled = filled_size(session)
    if size > filled:
        raise TreeError(
            f"the tree covers {filled} entries, not {size}: entries after the newest signed checkpoint are not in it "
            "yet; the clock signs one daily, or run `pvm log checkpoint`"
        )


def root(session: Session, size: int) -> bytes:
    _covered(session, size)
    result = _compute(session, lambda nodes: merkle.range_root(nodes, 0, size), size)
    assert isinstance(result, bytes)
    return result


def inclusion(session: Session, seq: int, size: int) -> list[bytes]:
    """The audit path of entry `seq` in the tree of the first `size` entries."""
    if not 1 <= seq <= size:
        raise TreeError(f"seq {seq} is not among the first {size} entries; ask for a seq from 1 to {size}")
    _covered(session, size)
    result = _compute(session, lambda nodes: merkle.inclusion_path(nodes, seq - 1, size), size)
    assert isinstance(result, list)
    return result


def consistency(session: Session, old: int, new: int) -> list[bytes]:
    """The proof that the tree of `new` entries extends the tree of `old` entries."""
    if not 1 <= old <= new:
        raise TreeError(f"a consistency proof runs from an older, smaller size to a newer one, got {old} -> {new}")
    _covered(session, new)
    result = _compute(session, lambda nodes: merkle.consistency_path(nodes, old, new), new)
    assert isinstance(result, list)
    return result


def leaf_of(hash_hex: str) -> bytes:
    """The leaf hash of an entry whose `hash` is `hash_hex`."""
    return merkle.leaf_hash(bytes.fromhex(hash_hex))


def extend(session: Session, size: int) -> bytes:
    """Add the nodes of entries up to `size` (in the caller's transaction) and return the root of that tree.

    The new entries are checked first (each hashes to its `hash`, links to the one before, seq has no gap): a
    checkpoint must never sign a chain that does not verify. The entries already in the tree are not read again:
    the stored nodes stand for them, so a checkpoint always extends the previous one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_TREE_LOCK})
    filled = filled_size(session)
    if size <= filled:
        return root(session, size)
    frontier = merkle.Frontier.resume(filled, lambda level, index: _one(session, level, index))
    prev = GENESIS_HASH
    if filled:
        if not head_matches(session, filled):
            raise TreeError(
                f"seq {filled} differs from the entry the last signed checkpoint committed to; refusing to sign. "
                "Run `pvm log verify` to see what was changed"
            )
        prev = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == filled)) or ""
    expected = filled + 1
    for batch in _entries(session, filled, size):
        rows: list[dict[str, object]] = []
        for seq, hash_hex, prev_hash, canonical in batch:
            if seq != expected:
                raise TreeError(f"seq {expected} is missing from the log; refusing to sign. Run `pvm log verify`")
            if entry_hash(canonical) != hash_hex or prev_hash != prev:
                raise TreeError(
                    f"seq {seq} does not verify (its bytes or its link were changed); refusing to sign. "
                    "Run `pvm log verify`"
                )
            leaf = leaf_of(hash_hex)
            rows.append({"level": 0, "idx": seq - 1, "hash": leaf})
            rows.extend({"level": level, "idx": index, "hash": node} for level, index, node in frontier.push(leaf))
            prev, expected = hash_hex, seq + 1
        session.execute(insert(ValueLogNode), rows)
    if frontier.size != size:
        raise TreeError(f"seq {frontier.size + 1} is missing from the log; refusing to sign. Run `pvm log verify`")
    return frontier.root()


def head_matches(session: Session, size: int) -> bool:
    """Whether entry `size` is still the one whose leaf the tree stored: the link new entries chain from."""
    current = session.scalar(select(ValueLogEntry.hash).where(ValueLogEntry.seq == size))
    return current is not None and leaf_of(current) == _one(session, 0, size - 1)


def _one(session: Session, level: int, index: int) -> bytes:
    node = session.scalar(select(ValueLogNode.hash).where(ValueLogNode.level == level, ValueLogNode.idx == index))
    if node is None:
        raise TreeError(
            f"the stored tree lacks the subtree at level {level}, index {index}: its rows were deleted. "
            "Run `pvm log verify --checkpoint` against a checkpoint kept outside the database"
        )
    return bytes(node)


def _entries(session: Session, after: int, upto: int) -> Iterator[list[tuple[int, str, str, bytes]]]:
    while after < upto:
        rows = session.execute(
            select(ValueLogEntry.seq, ValueLogEntry.hash, ValueLogEntry.prev_hash, ValueLogEntry.canonical)
            .where(ValueLogEntry.seq > after, ValueLogEntry.seq <= upto)
            .order_by(ValueLogEntry.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield [(row.seq, row.hash, row.prev_hash, bytes(row.canonical)) for row in rows]
        after = rows[-1].seq


def stored_leaves(session: Session, upto: int) -> Iterator[tuple[int, str, bytes | None]]:
    """(seq, the entry's hash, the leaf stored for it or None) for seq 1..upto, in pages: to find the first entry
    that no longer matches what a checkpoint committed to."""
    after = 0
    while after < upto:
        entries = session.execute(
            select(ValueLogEntry.seq, ValueLogEntry.hash)
            .where(ValueLogEntry.seq > after, ValueLogEntry.seq <= upto)
            .order_by(ValueLogEntry.seq)
            .limit(BATCH)
        ).all()
        if not entries:
            return
        leaves: dict[int, bytes] = {
            idx: node
            for idx, node in session.execute(
                select(ValueLogNode.idx, ValueLogNode.hash).where(
                    ValueLogNode.level == 0,
                    ValueLogNode.idx >= entries[0].seq - 1,
                    ValueLogNode.idx <= entries[-1].seq - 1,
                )
            )
        }
        for row in entries:
            stored = leaves.get(row.seq - 1)
            yield row.seq, row.hash, bytes(stored) if stored is not None else None
        after = entries[-1].seq
