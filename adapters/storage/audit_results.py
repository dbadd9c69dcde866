"""What reading the audit log reports: a chain's archived head and a verification's result.

Split from ``adapters.storage.audit`` (which re-exports both) to keep that module to
the store itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.storage.checkpoint_check import CheckpointProblem
from adapters.storage.checkpoint_format import Checkpoint
from interpreter.chain import ChainBreak


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last archived entry of a run: the stored chain continues from here."""

    run_id: str
    seq: int
    hash: str
    archived_at: datetime
    archive_uri: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of verifying one run's stored chain.

    Attributes:
        entries: How many entries verified before the break (all of them when ok).
        first_seq: Where the stored chain starts (1, or the archived head's seq + 1).
        head: The archived head the check started from, if any.
        broken: The first break, or ``None``.
        pending: How many of ``entries`` are the pending tail (not yet committed).
        problems: What the signed checkpoints contradict (checked only with keys).
        signed: The newest authentic checkpoint, when checkpoints were checked.
    """

    run_id: str
    entries: int
    first_seq: int
    head: ChainHead | None
    broken: ChainBreak | None
    pending: int = 0
    problems: tuple[CheckpointProblem, ...] = ()
    signed: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None and not self.problems

    def problem_lines(self) -> list[str]:
        """Every problem, the chain's first break first."""
        first = [] if self.broken is None else [self.broken.describe()]
        return first + [p.describe() for p in self.problems]

    def describe(self) -> str:
        if not self.ok:
            return self.problem_lines()[0]
        anchor = f", continuing archived head seq {self.head.seq}" if self.head else ""
        if self.entries == 0:
            return f"run {self.run_id}: ok, no stored entries{anchor}"
        last = self.first_seq + self.entries - 1
        pending = f", the last {self.pending} pending commit" if self.pending else ""
        signed = ""
        if self.signed is not None:
            closed = ", closed" if self.signed.closed else ""
            signed = f", signed through seq {self.signed.seq} ({self.signed.n} checkpoints{closed})"
        return (
            f"run {self.run_id}: ok, {self.entries} entries (seq {self.first_seq}..{last})"
            f"{anchor}{signed}{pending}"
        )


__all__ = ["ChainHead", "VerifyResult"]
