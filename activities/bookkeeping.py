"""Persisting what the workflow decided: audit entries and the run row, together.

Every activity that acts on the world calls ``persist`` before acting, so a
send never happens without its record. Appends are idempotent on (run, seq):
an activity retried after a crash writes nothing twice, and a divergent entry
(nondeterminism or tampering) is refused loudly rather than overwritten.

Every refusal is retryable: an audit problem delays a run (its activity waits,
visibly, with the reason as its last failure), it never ends the workflow. What an
uncommitted workflow task computed is written as the pending tail, never into the
append-only table, so a retried task cannot be refused for what a lost one wrote.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from activities.contracts import AuditBatch
from adapters.storage import (
    AuditDivergence,
    AuditStore,
    Database,
    DatabaseUnavailable,
    RunRecord,
    RunStore,
    StorageError,
)
from interpreter import ChainedEntry


class Bookkeeper:
    """Writes audit batches and run rows through the storage adapters."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._audit = AuditStore(database)
        self._runs = RunStore(database)

    async def persist(self, batch: AuditBatch) -> int:
        """Store the batch; return the highest seq now persisted for the run (0 if none).

        Raises:
            ApplicationError: non-retryable for a divergent chain (an operator must
                look), retryable for an unavailable database.
        """
        entries = [ChainedEntry(**entry) for entry in batch.entries]
        pending = None if batch.pending is None else [ChainedEntry(**e) for e in batch.pending]
        run = batch.run
        record = RunRecord(
            run.run_id,
            run.tenant,
            run.plan_id,
            run.plan_version,
            run.contact_id,
            run.status,
            run.step_id,
        )
        try:
            # One transaction, one commit: entries and row land together, and a local
            # activity on every event's path waits for one commit, not two.
            async with self._db.transaction() as conn:
                await self._audit.append_in(conn, entries)
                if pending is not None:
                    through = entries[-1].seq if entries else 0
                    await self._audit.stage_in(conn, run.run_id, pending, committed_through=through)
                await self._runs.upsert_in(conn, record)
        except AuditDivergence as exc:  # nondeterminism or tampering: an operator must look
            raise ApplicationError(str(exc), type="AuditDivergence") from exc
        except DatabaseUnavailable as exc:  # transient: the activity retries, nothing acts
            raise ApplicationError(str(exc), type=type(exc).__name__) from exc
        except StorageError as exc:  # identity clash, unknown plan: waits, visibly, for a fix
            raise ApplicationError(str(exc), type=type(exc).__name__) from exc
        return max((e.seq for e in (*entries, *(pending or ()))), default=0)
