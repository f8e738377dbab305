"""RFC 9162 math, for random log sizes and leaves: roots agree with an independent implementation (pymerkle),
inclusion and consistency proofs verify, and any single-bit change to a leaf or to a proof fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from service.valuelog import merkle

MAX = 300


def _tree(size: int, salt: int = 0) -> tuple[dict[tuple[int, int], bytes], merkle.Frontier]:
    """All perfect subtrees of a tree of `size` leaves, built the way the database's tree is: through Frontier."""
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = merkle.Frontier()
    for index in range(size):
        leaf = merkle.leaf_hash(hashlib.sha256(f"{salt}:{index}".encode()).digest())
        nodes[(0, index)] = leaf
        for level, at, node in frontier.push(leaf):
            nodes[(level, at)] = node
    return nodes, frontier


def _get(nodes: dict[tuple[int, int], bytes]) -> merkle.Nodes:
    return lambda level, index: nodes[(level, index)]


def _flip(value: bytes, bit: int) -> bytes:
    raw = bytearray(value)
    raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
    return bytes(raw)


@given(size=st.integers(1, MAX), salt=st.integers(0, 3))
def test_roots_agree_with_pymerkle(size: int, salt: int) -> None:
    nodes, frontier = _tree(size, salt)
    reference = InmemoryTree(algorithm="sha256")
    for index in range(size):
        reference.append_entry(hashlib.sha256(f"{salt}:{index}".encode()).digest())
    for smaller in {1, size // 2 or 1, size}:
        assert merkle.range_root(_get(nodes), 0, smaller) == reference.get_root(smaller)
    assert frontier.root() == reference.get_root(size)
    assert merkle.Frontier.resume(size, _get(nodes)).root() == frontier.root()


@given(data=st.data())
def test_inclusion_proofs_verify_and_any_flipped_bit_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    nodes, _ = _tree(size)
    root = merkle.range_root(_get(nodes), 0, size)
    path = merkle.inclusion_path(_get(nodes), index, size)
    leaf = nodes[(0, index)]
    merkle.verify_inclusion(leaf, index, size, path, root)

    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(_flip(leaf, bit), index, size, path, root)
    if path:
        at = data.draw(st.integers(0, len(path) - 1), label="at")
        changed = [*path]
        changed[at] = _flip(changed[at], bit)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaf, index, size, changed, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaf, index, size, path, _flip(root, bit))
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other index")
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaf, other, size, path, root)


@given(data=st.data())
def test_consistency_proofs_verify_and_any_flipped_bit_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, MAX), label="new")
    old = data.draw(st.integers(1, new), label="old")
    nodes, _ = _tree(new)
    old_root = merkle.range_root(_get(nodes), 0, old)
    new_root = merkle.range_root(_get(nodes), 0, new)
    path = merkle.consistency_path(_get(nodes), old, new)
    merkle.verify_consistency(old, new, old_root, new_root, path)

    bit = data.draw(st.integers(0, 255), label="bit")
    if path:
        at = data.draw(st.integers(0, len(path) - 1), label="at")
        changed = [*path]
        changed[at] = _flip(changed[at], bit)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, new_root, changed)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, _flip(old_root, bit), new_root, path)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, old_root, _flip(new_root, bit), path)


@given(data=st.data())
def test_a_rewritten_old_entry_breaks_consistency(data: st.DataObject) -> None:
    """What a checkpoint pins: change any leaf of the old tree, and the new tree no longer extends it."""
    new = data.draw(st.integers(2, MAX), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    nodes, _ = _tree(new)
    old_root = merkle.range_root(_get(nodes), 0, old)
    victim = data.draw(st.integers(0, old - 1), label="victim")
    forged, _ = _tree(new)
    forged[(0, victim)] = merkle.leaf_hash(b"forged")
    rebuilt = merkle.Frontier()
    for index in range(new):
        for level, at, node in rebuilt.push(forged[(0, index)]):
            forged[(level, at)] = node
    path = merkle.consistency_path(_get(forged), old, new)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, old_root, rebuilt.root(), path)
