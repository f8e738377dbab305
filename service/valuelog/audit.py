"""`pvm log verify` in full: the hash chain, the Merkle root at each signed checkpoint, the consistency of the
checkpoints with each other, what no checkpoint covers yet, and the append-only triggers.

The chain alone cannot see a tail that was cut off, nor a history rewritten consistently from some entry on, nor
entries appended by someone writing to the table directly. A signed checkpoint held outside the database can: its
root commits to every one of its entries, so the first line names the seq where the log and the checkpoint part.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service.valuelog import append_only, merkle, tree
from service.valuelog.checkpoint import SignedCheckpoint
from service.valuelog.verify import VerifyResult, _Checked, _database_records, verify_records

Locate = Callable[[int], str]  # size -> the first line naming the seq that no longer matches


@dataclass
class Report:
    chain: VerifyResult
    bad: list[str] = field(default_factory=list)  # "BAD ..." lines, first problem first
    notes: list[str] = field(default_factory=list)  # what was checked and what is not covered

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.bad

    def lines(self) -> list[str]:
        first = self.chain.line() if not self.chain.ok else (self.bad[0] if self.bad else self.chain.line())
        rest = self.bad[1:] if self.chain.ok else self.bad
        return [first, *rest, *self.notes]


def audit(
    records: Iterable[_Checked],
    checkpoints: list[SignedCheckpoint],
    *,
    progress: Callable[[int], None] | None = None,
    locate: Locate | None = None,
    consistency: Callable[[int, int], list[bytes]] | None = None,
) -> Report:
    """Walk the entries once: verify the chain and compute the Merkle root at each checkpoint's size on the way."""
    sizes = {point.size for point in checkpoints}
    roots: dict[int, bytes] = {}
    frontier = merkle.Frontier()

    def feed() -> Iterator[_Checked]:
        for record in records:
            yield record
            frontier.push(tree.leaf_of(record.hash))
            if frontier.size in sizes:
                roots[frontier.size] = frontier.root()

    report = Report(verify_records(feed(), progress))
    if not report.chain.ok:
        return report
    count = report.chain.entries
    ordered = sorted(checkpoints, key=lambda point: point.size)
    for point in ordered:
        if point.size > count:
            report.bad.append(
                f"BAD seq {count + 1}: missing: the signed checkpoint of size {point.size} covers seq 1-{point.size}, "
                f"the log ends at seq {count} (its tail was deleted)"
            )
        elif point.size == 0:
            report.notes.append("checkpoint of size 0: nothing to compare")
        elif roots.get(point.size) != point.root:
            report.bad.append(
                locate(point.size)
                if locate
                else f"BAD checkpoint size {point.size}: the entries up to seq {point.size} do not match its signed "
                "root: one of them was rewritten"
            )
        else:
            report.notes.append(f"checkpoint {point.origin} size {point.size}: signature and root match")
    for older, newer in itertools.pairwise(ordered):
        if older.size == 0 or newer.size > count:
            continue
        if consistency is None:
            if roots.get(older.size) == older.root and roots.get(newer.size) == newer.root:
                report.notes.append(f"consistent {older.size} -> {newer.size}: both roots recomputed from the entries")
            continue
        try:
            path = consistency(older.size, newer.size)
            merkle.verify_consistency(older.size, newer.size, older.root, newer.root, path)
        except (merkle.ProofError, tree.TreeError) as exc:
            report.bad.append(f"BAD consistency {older.size} -> {newer.size}: {exc}")
        else:
            report.notes.append(f"consistent {older.size} -> {newer.size}: the log only grew (RFC 9162 proof checked)")
    newest = ordered[-1].size if ordered else 0
    if count > newest:
        since = f"after the newest signed checkpoint (size {newest})" if ordered else "and no signed checkpoint yet"
        report.notes.append(
            f"not yet covered: {count - newest} entries (seq {newest + 1}-{count}) {since}; "
            "`pvm log checkpoint` signs them (the clock does daily)"
        )
    return report


def locate_in_database(session: Session) -> Locate:
    """Name the first entry that differs from the leaf stored when the checkpoint was signed."""

    def locate(size: int) -> str:
        expected = 1
        for seq, hash_hex, stored in tree.stored_leaves(session, size):
            if seq != expected:
                return f"BAD seq {expected}: missing: deleted after the signed checkpoint of size {size} included it"
            if stored is not None and tree.leaf_of(hash_hex) != stored:
                return (
                    f"BAD seq {seq}: rewritten: differs from the entry the signed checkpoint of size {size} "
                    "committed to (and so does every later entry of a chain rewritten from here)"
                )
            expected += 1
        return (
            f"BAD checkpoint size {size}: the entries up to seq {size} do not match its signed root, and the tree "
            "stored with it was rewritten along with them; compare with an export taken before to find the seq"
        )

    return locate


def audit_database(
    session: Session, checkpoints: list[SignedCheckpoint], progress: Callable[[int], None] | None = None
) -> Report:
    report = audit(
        _database_records(session),
        checkpoints,
        progress=progress,
        locate=locate_in_database(session),
        consistency=lambda old, new: tree.consistency(session, old, new),
    )
    found = append_only.problems(session.connection())
    if found:
        report.bad.append(f"BAD append-only triggers: {append_only.describe(found)}")
    else:
        report.notes.append("append-only triggers: in place")
    return report
