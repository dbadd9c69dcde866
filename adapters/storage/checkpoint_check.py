"""Checking a run's stored chain against its signed checkpoints (pure: no I/O).

Two steps, each reporting every problem with the run and the seq it concerns:

1. ``trusted_chain``: which checkpoints are authentic (signed by a trusted key) and
   whether they form an unbroken chain (``n`` = 1, 2, … linked by ``prev``). An export
   (``dee audit checkpoints export``) is a second, trusted source: a checkpoint it
   holds that the database lost was deleted.
2. ``SignedHeads``: while the entries stream past, each signed ``seq`` must still hold
   the signed hash; at the end the stored chain must end exactly where the newest
   checkpoint says (shorter: truncated; longer: appended without a signature).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.storage.checkpoint_format import (
    GENESIS,
    Checkpoint,
    VerifyKeys,
    signature_problem,
)


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    """Something the signed checkpoints contradict, at one run and seq."""

    run_id: str
    seq: int
    text: str

    def describe(self) -> str:
        return f"run {self.run_id}: entry seq {self.seq}: {self.text}"


def _authentic(
    run_id: str, found: Iterable[Checkpoint], keys: VerifyKeys, source: str
) -> tuple[dict[int, Checkpoint], list[CheckpointProblem]]:
    good: dict[int, Checkpoint] = {}
    problems: list[CheckpointProblem] = []
    for cp in found:
        why = signature_problem(cp, keys)
        if why is None and cp.run_id != run_id:
            why = f"it signs run {cp.run_id}"
        if why is not None:
            problems.append(
                CheckpointProblem(run_id, cp.seq, f"{source}{cp.describe()} is forged: {why}")
            )
        else:
            good[cp.n] = cp
    return good, problems


def trusted_chain(
    run_id: str,
    stored: Sequence[Checkpoint],
    keys: VerifyKeys,
    exported: Sequence[Checkpoint] = (),
) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
    """The run's authentic checkpoints in ``n`` order, and what is wrong with them."""
    merged, problems = _authentic(run_id, stored, keys, "")
    from_export, bad = _authentic(run_id, exported, keys, "the exported ")
    problems += bad
    stored_ns = {cp.n for cp in stored}
    # Numbers held only by rows already named forged: not "deleted" as well.
    forged_ns = {cp.n for cp in (*stored, *exported)} - set(merged) - set(from_export)
    for n, cp in sorted(from_export.items()):
        mine = merged.get(n)
        if mine is not None and mine.hash != cp.hash:
            problems.append(
                CheckpointProblem(
                    run_id,
                    cp.seq,
                    f"checkpoint {n} in the database (seq {mine.seq}) differs from the "
                    f"exported one (seq {cp.seq})",
                )
            )
        elif n not in stored_ns:
            problems.append(
                CheckpointProblem(
                    run_id,
                    cp.seq,
                    f"{cp.describe()} is in the export but not in the database: deleted",
                )
            )
        merged[n] = cp  # the export is the trusted copy
    chain = [merged[n] for n in sorted(merged)]
    expected_n, prev, last_seq = 1, GENESIS, 0
    for cp in chain:
        if cp.n != expected_n and forged_ns.issuperset(range(expected_n, cp.n)):
            pass
        elif cp.n != expected_n:
            # What a lost checkpoint signed is unknown, only that it lay in this range.
            missing = f"{expected_n}" if cp.n == expected_n + 1 else f"{expected_n}..{cp.n - 1}"
            problems.append(
                CheckpointProblem(
                    run_id,
                    last_seq + 1,
                    f"checkpoint {missing} is missing (deleted): it signed a seq in "
                    f"{last_seq + 1}..{cp.seq - 1}; {cp.describe()} follows checkpoint "
                    f"{expected_n - 1}",
                )
            )
        elif cp.prev != prev:
            problems.append(
                CheckpointProblem(
                    run_id, cp.seq, f"{cp.describe()} does not link to checkpoint {cp.n - 1}"
                )
            )
        if cp.seq <= last_seq:
            problems.append(
                CheckpointProblem(
                    run_id, cp.seq, f"{cp.describe()} does not advance past seq {last_seq}"
                )
            )
        expected_n, prev, last_seq = cp.n + 1, cp.hash, max(last_seq, cp.seq)
    return chain, problems


class SignedHeads:
    """Compares streamed entries with the signed heads of one run's checkpoints."""

    def __init__(
        self,
        run_id: str,
        chain: Sequence[Checkpoint],
        *,
        first_seq: int = 1,
        archived_hash: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.newest = max(chain, key=lambda cp: cp.seq) if chain else None
        self.problems: list[CheckpointProblem] = []
        self._want = {cp.seq: cp for cp in chain if cp.seq >= first_seq}
        self._good = first_seq - 1  # the last seq whose signed head still holds
        at_head = [cp for cp in chain if cp.seq == first_seq - 1]
        if archived_hash is not None and at_head and at_head[0].head != archived_hash:
            self._mismatch(at_head[0], archived_hash)

    def see(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Check a page of stored entries (in seq order, already chain-verified)."""
        for row in rows:
            cp = self._want.get(row["seq"])
            if cp is None:
                continue
            if row["hash"] == cp.head:
                self._good = cp.seq
            else:
                self._mismatch(cp, row["hash"])

    def _mismatch(self, cp: Checkpoint, stored: str) -> None:
        self.problems.append(
            CheckpointProblem(
                self.run_id,
                cp.seq,
                f"hash is {stored!r}, but {cp.describe()} signed {cp.head!r}: the chain "
                f"was rewritten after seq {self._good}",
            )
        )

    def finish(self, last_seq: int, first_seq: int = 1) -> list[CheckpointProblem]:
        """Check where the stored chain ends (``last_seq``; ``first_seq - 1`` if empty)."""
        top = self.newest
        if top is None:
            if last_seq >= first_seq:
                self.problems.append(
                    CheckpointProblem(
                        self.run_id,
                        first_seq,
                        "no signed checkpoint covers this run: it was fabricated, or its "
                        "checkpoints were deleted",
                    )
                )
        elif top.seq > last_seq:
            self.problems.append(
                CheckpointProblem(
                    self.run_id,
                    last_seq + 1,
                    f"entries seq {last_seq + 1}..{top.seq} are missing, but {top.describe()} "
                    f"signed the chain through seq {top.seq}: the tail was truncated",
                )
            )
        elif top.seq < last_seq:
            closed = ", which closed the run" if top.closed else ""
            self.problems.append(
                CheckpointProblem(
                    self.run_id,
                    top.seq + 1,
                    f"entries seq {top.seq + 1}..{last_seq} are not signed (the newest is "
                    f"{top.describe()}{closed}): appended without a signature, or later "
                    "checkpoints were deleted",
                )
            )
        return self.problems


__all__ = ["CheckpointProblem", "SignedHeads", "trusted_chain"]
