"""The pending tail: what an uncommitted workflow task wrote can be replaced, never refused.

Persisted through ``Bookkeeper.persist`` (the activity every batch goes through), on both
databases. A "lost task" is a batch whose entries go to the pending tail and whose task
then never commits: its successor computes other entries at the same seqs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from storage_helpers import make_chain, unique
from temporalio.exceptions import ApplicationError

from activities.bookkeeping import Bookkeeper
from activities.contracts import AuditBatch, RunRow
from adapters.storage import AuditStore, Database, PlanStore
from dee.documents import load_plan
from interpreter.chain import ChainedEntry

pytestmark = pytest.mark.asyncio(loop_scope="session")
PLAN = load_plan(Path(__file__).resolve().parents[3] / "plans" / "sales-sequence.yaml")


def _batch(
    run_id: str, entries: list[ChainedEntry], pending: list[ChainedEntry] | None
) -> AuditBatch:
    row = RunRow(run_id, "default", PLAN.id, PLAN.version, "c-1", "WAITING", "wait-1")
    return AuditBatch(
        row,
        [e.as_dict() for e in entries],
        None if pending is None else [e.as_dict() for e in pending],
    )


async def _keeper(database: Database) -> Bookkeeper:
    await PlanStore(database).put(PLAN)
    return Bookkeeper(database)


async def test_a_lost_tasks_tail_is_replaced_and_only_the_committed_one_is_appended(
    database: Database,
) -> None:
    keeper, store, run_id = await _keeper(database), AuditStore(database), unique()
    first = make_chain(run_id, 3)
    await keeper.persist(_batch(run_id, first, []))
    # The lost task: entries 4..6 at one tick; its successor: 4..5 at another.
    lost = make_chain(run_id, 3, start_seq=4, prev_hash=first[-1].hash, step="lost")
    retried = make_chain(run_id, 2, start_seq=4, prev_hash=first[-1].hash, step="retried")
    assert lost[0].hash != retried[0].hash

    assert await keeper.persist(_batch(run_id, [], lost)) == 6
    shown = await store.timeline(run_id)
    assert [(e.seq, e.pending) for e in shown] == [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1), (6, 1)]

    assert await keeper.persist(_batch(run_id, [], retried)) == 5
    assert [e.hash for e in await store.entries(run_id)] == [
        e.hash for e in [*first, *retried]
    ]  # the lost 6th entry is gone with its task
    # The next task confirms the retried entries: committed, nothing pending.
    later = make_chain(run_id, 1, start_seq=6, prev_hash=retried[-1].hash, step="later")
    assert await keeper.persist(_batch(run_id, retried, later)) == 6
    assert await keeper.persist(_batch(run_id, later, [])) == 6

    verified = await store.verify(run_id)
    assert (verified.ok, verified.entries, verified.pending) == (True, 6, 0)
    assert await store.count(run_id) == 6  # all six in the append-only table
    assert [e.hash for e in await store.entries(run_id)] == [
        e.hash for e in [*first, *retried, *later]
    ]


async def test_verify_covers_the_pending_tail(database: Database) -> None:
    keeper, store, run_id = await _keeper(database), AuditStore(database), unique()
    first = make_chain(run_id, 2)
    tail = make_chain(run_id, 2, start_seq=3, prev_hash=first[-1].hash)
    await keeper.persist(_batch(run_id, first, tail))

    verified = await store.verify(run_id)
    assert (verified.ok, verified.entries, verified.pending) == (True, 4, 2)
    assert "pending" in verified.describe()
    async with database.transaction() as conn:  # the tail is mutable: tamper with it
        await conn.execute(
            text("UPDATE audit_pending SET outcome = 'forged' WHERE run_id = :r AND seq = 4"),
            {"r": run_id},
        )
    broken = await store.verify(run_id)
    assert not broken.ok and broken.broken is not None and broken.broken.seq == 4


async def test_a_late_committed_batch_does_not_erase_a_later_tail(database: Database) -> None:
    keeper, store, run_id = await _keeper(database), AuditStore(database), unique()
    first = make_chain(run_id, 2)
    tail = make_chain(run_id, 2, start_seq=3, prev_hash=first[-1].hash)
    await keeper.persist(_batch(run_id, first, tail))
    # A slow retry of an activity whose batch held only the first two entries.
    await keeper.persist(_batch(run_id, first, []))

    assert [(e.seq, e.pending) for e in await store.timeline(run_id)] == [
        (1, False), (2, False), (3, True), (4, True),
    ]  # fmt: skip


async def test_a_tail_that_does_not_continue_the_chain_is_refused_retryably(
    database: Database,
) -> None:
    keeper, store, run_id = await _keeper(database), AuditStore(database), unique()
    first = make_chain(run_id, 2)
    await keeper.persist(_batch(run_id, first, None))
    stray = make_chain(run_id, 2, start_seq=3)  # links to the genesis hash, not to seq 2

    with pytest.raises(ApplicationError) as refused:
        await keeper.persist(_batch(run_id, [], stray))

    assert refused.value.type == "AuditDivergence"
    assert not refused.value.non_retryable  # delays the run, never ends it
    assert "seq 3" in str(refused.value)
    assert [e.pending for e in await store.timeline(run_id)] == [False, False]


async def test_a_divergent_committed_entry_is_refused_retryably(database: Database) -> None:
    keeper, run_id = await _keeper(database), unique()
    first = make_chain(run_id, 2)
    await keeper.persist(_batch(run_id, first, None))
    other = make_chain(run_id, 2, tick_every=3)

    with pytest.raises(ApplicationError) as refused:
        await keeper.persist(_batch(run_id, other, None))

    assert refused.value.type == "AuditDivergence" and not refused.value.non_retryable
