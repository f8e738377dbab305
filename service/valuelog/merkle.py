"""RFC 9162 (RFC 6962) Merkle tree math over the value log: hashes, roots, inclusion and consistency proofs.

Pure functions: where the hashes of whole subtrees come from (the database, a list in a test) is the caller's
`Nodes`. A perfect subtree is named by (level, index): it covers the 2**level leaves from index * 2**level on, so
level 0 holds the leaf hashes. Every root or proof over n leaves needs O(log n) of them (the left child of every
split in RFC 9162's tree is a perfect subtree), never the leaves themselves.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Nodes = Callable[[int, int], bytes]  # (level, index) -> the hash of that perfect subtree


class ProofError(ValueError):
    """A proof does not verify; the message says which check failed."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """RFC 9162's k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect(start: int, end: int) -> tuple[int, int] | None:
    """(level, index) when [start, end) is one perfect, aligned subtree."""
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        level = width.bit_length() - 1
        return level, start >> level
    return None


def range_root(nodes: Nodes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) as RFC 9162 defines it, from the perfect subtrees that make up the range."""
    if end <= start:
        return EMPTY_ROOT
    perfect = _perfect(start, end)
    if perfect is not None:
        return nodes(*perfect)
    k = split_point(end - start)
    return node_hash(range_root(nodes, start, start + k), range_root(nodes, start + k, end))


def inclusion_path(nodes: Nodes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(range_root(nodes, start + k, end))
            end = start + k
        else:
            path.append(range_root(nodes, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(nodes: Nodes, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 section 2.1.4.1: the tree of `new` leaves extends the one of `old`."""
    if not 0 < old <= new:
        raise ValueError(f"a consistency proof needs 0 < old size <= new size, got {old} and {new}")
    path: list[bytes] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append(range_root(nodes, start + k, end))
            end = start + k
        else:
            path.append(range_root(nodes, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(range_root(nodes, start, end))
    path.reverse()
    return path


def needed(compute: Callable[[Nodes], object]) -> set[tuple[int, int]]:
    """The (level, index) pairs `compute` asks for, so a caller can fetch them in one query before computing."""
    asked: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        asked.add((level, index))
        return EMPTY_ROOT

    compute(record)
    return asked


def verify_inclusion(leaf: bytes, index: int, size: int, path: Iterable[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2; `leaf` is the leaf hash. Raises ProofError, or returns when the proof holds."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the path is shorter than the tree is deep")
    if not hmac.compare_digest(r, root):
        raise ProofError("the path does not lead to the root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> None:
    """RFC 9162 section 2.1.4.2. Raises ProofError, or returns when the tree of `new` leaves extends that of `old`."""
    if not 0 < old <= new:
        raise ProofError(f"sizes {old} -> {new}: the old size must be at least 1 and at most the new one")
    if old == new:
        if path:
            raise ProofError("equal sizes take an empty proof")
        if not hmac.compare_digest(old_root, new_root):
            raise ProofError("equal sizes but different roots: the log was rewritten")
        return
    if not path:
        raise ProofError("the proof is empty")
    if old & (old - 1) == 0:
        path = [old_root, *path]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError("the proof does not lead to the old root: the old entries were changed")
    if not hmac.compare_digest(sr, new_root):
        raise ProofError("the proof does not lead to the new root")


@dataclass
class Frontier:
    """The compact range of a growing tree: one perfect subtree per set bit of the size, so memory is O(log n).

    `push` returns the subtrees it completed (level >= 1), for callers that store them."""

    size: int = 0
    stack: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash), largest first

    @classmethod
    def resume(cls, size: int, nodes: Nodes) -> Frontier:
        """The frontier of a tree of `size` leaves, from its stored perfect subtrees."""
        frontier, start = cls(size), 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                frontier.stack.append((level, nodes(level, start >> level)))
                start += 1 << level
        return frontier

    def push(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; the new perfect subtrees above it as (level, index, hash)."""
        made: list[tuple[int, int, bytes]] = []
        level, current, index = 0, leaf, self.size
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            current, level, index = node_hash(left, current), level + 1, index >> 1
            made.append((level, index, current))
        self.stack.append((level, current))
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = node_hash(left, result)
        return result
