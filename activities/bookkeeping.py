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

from activities.contracts import PLAN_MISMATCH, UNKNOWN_PLAN, AuditBatch, RunRow
from adapters.policy.ledger import record_call_events
from adapters.storage import (
    AuditStore,
    CheckpointSigner,
    Database,
    PlanStore,
    RunRecord,
    RunStore,
    StorageError,
    UnknownPlan,
)
from adapters.storage.run_facts import fold
from interpreter import ChainedEntry

# The server keeps an activity's last failure to show why it waits, and drops one over
# its size limit (4 KB on the dev server): no driver cause chain, a bounded message.
FAILURE_MESSAGE_LIMIT = 1000


def retryable(exc: StorageError) -> ApplicationError:
    """A storage error as the retryable failure a waiting activity shows."""
    message = str(exc)
    if len(message) > FAILURE_MESSAGE_LIMIT:
        message = message[: FAILURE_MESSAGE_LIMIT - 3] + "..."
    return ApplicationError(message, type=type(exc).__name__)


def record_of(run: RunRow) -> RunRecord:
    """The workflow's row as the store writes it (the one ``RunRow`` -> ``RunRecord``
    mapping). Outcome and failure are left out: the row keeps what the audit entries
    decide (``adapters.storage.run_facts.fold``), the plan hash is only checked."""
    return RunRecord(
        run.run_id, run.tenant, run.plan_id, run.plan_version, run.contact_id, run.status,
        run.step_id,
    )  # fmt: skip


class Bookkeeper:
    """Writes audit batches and run rows through the storage adapters."""

    def __init__(self, database: Database, *, signer: CheckpointSigner | None = None) -> None:
        self._db = database
        # The worker's signer: each append also signs the runs' new heads (docs/audit.md).
        self._audit = AuditStore(database, signer=signer)
        self._runs = RunStore(database)
        # (tenant, plan id, version) -> stored content hash: plan versions are
        # immutable, and a run's plan is its own tenant's (docs/tenants.md).
        self._plan_hashes: dict[tuple[str, str, int], str] = {}

    async def persist(self, batch: AuditBatch) -> int:
        """Store the batch; return the highest seq now persisted for the run (0 if none).

        Raises:
            ApplicationError: non-retryable for a divergent chain (an operator must
                look), retryable for an unavailable database.
        """
        await self._check_plan(batch.run)
        entries = [ChainedEntry(**entry) for entry in batch.entries]
        pending = None if batch.pending is None else [ChainedEntry(**e) for e in batch.pending]
        run = batch.run
        record = record_of(run)
        try:
            # One transaction, one commit: entries and row land together, and a local
            # activity on every event's path waits for one commit, not two.
            async with self._db.transaction() as conn:
                await self._audit.append_in(conn, entries, tenant=run.tenant)
                if pending is not None:
                    through = entries[-1].seq if entries else 0
                    await self._audit.stage_in(conn, run.run_id, pending, committed_through=through)
                # How the run ended, as these entries decide it: kept on the row, so
                # reading an ended run scans no timeline.
                facts = fold([*entries, *(pending or ())])
                await self._runs.upsert_in(conn, record, facts)
                # A call's outcome (answered: a conversation) onto the contact's ledger,
                # from the call-status events the run took; idempotent on a retry.
                await record_call_events(conn, run.run_id, [*entries, *(pending or ())])
        except StorageError as exc:
            # Divergence (nondeterminism or tampering: an operator must look), the database
            # down (transient), an identity clash: the activity retries, nothing acts.
            raise retryable(exc) from None
        return max((e.seq for e in (*entries, *(pending or ()))), default=0)

    async def _check_plan(self, run: RunRow) -> None:
        """Refuse a run whose plan snapshot is not the stored plan of its id and version.

        A run started straight through Temporal carries its own snapshot; the engine
        stores the plan before it starts a run. Non-retryable: the workflow fails the
        start with this reason (``workflows.admission``).
        """
        if run.plan_hash is None:
            return
        key = (run.tenant, run.plan_id, run.plan_version)
        stored = self._plan_hashes.get(key)
        if stored is None:
            try:
                plans = PlanStore(self._db, run.tenant)
                stored = await plans.content_hash(run.plan_id, run.plan_version)
            except UnknownPlan:
                raise ApplicationError(
                    # The run's own tenant: naming it tells that tenant nothing new.
                    f"plan {run.plan_id} version {run.plan_version} is not stored for tenant "
                    f"{run.tenant!r}; store it first (dee plan register FILE, with that "
                    "tenant configured)",
                    type=UNKNOWN_PLAN,
                    non_retryable=True,
                ) from None
            except StorageError as exc:  # the database is down: the activity retries
                raise retryable(exc) from None
            self._plan_hashes[key] = stored
        if stored != run.plan_hash:
            raise ApplicationError(
                f"the run's plan body ({run.plan_hash}) differs from the stored plan "
                f"{run.plan_id} version {run.plan_version} ({stored}); plans are immutable: "
                "publish the change as a new version",
                type=PLAN_MISMATCH,
                non_retryable=True,
            )
