"""A run's audit entries between the step machine and the append-only table.

The workflow chains each entry as the machine records it and hands the entries not yet
stored to the next activity it runs (a policy check or a send carries them, written
before acting) or to a flush. Which entries are committed history (since ``DURABLE``):
an entry chained in an earlier workflow task than the current one is, because the
workflow only holds state from committed tasks (a lost task's successor replays
committed history), and so is everything a regular activity carries (its input is in
the committed history). Entries of the current task are written by the local-activity
flush as the run's *pending* tail, which the next batch replaces or confirms
(docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import GENESIS_HASH, TraceEntry, chain
    from workflows.activity_options import ACTIVITY_TIMEOUT, FLUSH_RETRY, IDEMPOTENT_RETRY
    from workflows.admission import refusal


class AuditStaging:
    """The chain's head and the entries not yet in the append-only table.

    ``row`` gives the run row that goes with every batch (the run's state now).
    """

    def __init__(self, inp: c.RunInput, *, durable: bool, row: Callable[[], c.RunRow]) -> None:
        self._run_id, self._durable, self._row = inp.run_id, durable, row
        self.seq = inp.chain_seq
        self.head = inp.chain_head or GENESIS_HASH
        # Entries not yet in the append-only table, and the history length at which each
        # was chained (-1: carried across continue-as-new, so committed).
        self.unpersisted: list[dict[str, Any]] = list(inp.unpersisted)
        self._chained_at: list[int] = [-1] * len(inp.unpersisted)
        self.written_seq = inp.chain_seq - len(inp.unpersisted)  # in the database, at all
        self._pending_rows = bool(inp.unpersisted)  # a pending tail may be stored

    def add(self, entry: TraceEntry) -> None:
        """Chain ``entry`` after the head; it waits for the next batch."""
        chained = chain(self._run_id, [entry], start_seq=self.seq + 1, prev_hash=self.head)[0]
        self.seq, self.head = chained.seq, chained.hash
        self.unpersisted.append(chained.as_dict())
        self._chained_at.append(workflow.info().get_current_history_length())

    def batch(self, *, local: bool = False) -> c.AuditBatch:
        """The entries to write and the run row.

        ``local``: for the local-activity flush, which runs before this task commits:
        entries chained in this task go as the pending tail. Otherwise (a regular
        activity's input, itself committed history) every entry is committed.
        """
        row = self._row()
        if not self._durable:
            return c.AuditBatch(row, list(self.unpersisted))
        if not local:
            return c.AuditBatch(row, list(self.unpersisted), [] if self._pending_rows else None)
        now = workflow.info().get_current_history_length()
        split = sum(1 for at in self._chained_at if at < now)  # chained_at never decreases
        pending = self.unpersisted[split:]
        return c.AuditBatch(
            row, self.unpersisted[:split], pending if pending or self._pending_rows else None
        )

    def persisted(self, through_seq: int, batch: c.AuditBatch | None = None) -> None:
        """Forget what is now committed; ``batch``: the local flush's, whose tail is pending."""
        self.written_seq = max(self.written_seq, through_seq)
        committed = through_seq
        if batch is not None and batch.pending is not None:
            committed = batch.entries[-1]["seq"] if batch.entries else 0
            self._pending_rows = bool(batch.pending)
        elif batch is None:
            self._pending_rows = False
        keep = sum(1 for e in self.unpersisted if e["seq"] > committed)
        cut = len(self.unpersisted) - keep
        self.unpersisted, self._chained_at = self.unpersisted[cut:], self._chained_at[cut:]

    async def flush(self, *, last: bool = False) -> None:
        """Write what is not stored yet: as a pending tail in a local activity, or (the
        run's last flush, or the local one failing) committed through a regular one."""
        if not self.unpersisted:
            return
        if self._durable and last:  # the run ends in this task: no later task confirms
            await self.flush_committed()
            return
        batch = self.batch(local=True)
        try:
            ack = await workflow.execute_local_activity(
                c.APPEND_AUDIT,
                batch,
                result_type=c.AuditAck,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=FLUSH_RETRY if self._durable else IDEMPOTENT_RETRY,
            )
        except ActivityError as err:
            if not self._durable:
                raise
            if (refused := refusal(err)) is not None:
                raise refused from None
            await self.flush_committed()
            return
        if not self._durable:
            self.persisted(ack.persisted_through_seq)
        elif batch.pending is not None:
            self.persisted(ack.persisted_through_seq, batch)
        else:  # nothing pending: the batch was all committed entries
            self.persisted(ack.persisted_through_seq)

    async def flush_committed(self) -> None:
        """Write every entry as committed through a regular activity, retried until done."""
        try:
            ack = await workflow.execute_activity(
                c.APPEND_AUDIT,
                self.batch(),
                result_type=c.AuditAck,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=IDEMPOTENT_RETRY,
            )
        except ActivityError as err:
            raise refusal(err) or err from None
        self.persisted(ack.persisted_through_seq)


__all__ = ["AuditStaging"]
