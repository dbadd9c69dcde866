"""Many tasks appending to many runs at once lose nothing and duplicate nothing."""

from __future__ import annotations

import asyncio
import random

import pytest
from storage_helpers import make_chain

from adapters.storage import AppendResult, AuditStore, Database

pytestmark = pytest.mark.asyncio(loop_scope="session")

RUNS = 20
TASKS = 50
BATCHES = 6
BATCH = 10


async def test_concurrent_appends_from_many_tasks_to_many_runs(database: Database) -> None:
    store = AuditStore(database)
    chains = {
        f"concurrent-{r:02d}": make_chain(f"concurrent-{r:02d}", BATCHES * BATCH)
        for r in range(RUNS)
    }
    run_ids = sorted(chains)
    # Every run gets two or three writers that append the same batches in order, racing
    # each other: the idempotent path and the insert path run concurrently on one run.
    writers = [run_ids[t % RUNS] for t in range(TASKS)]
    rng = random.Random(7)
    results: list[AppendResult] = []

    async def writer(run_id: str) -> None:
        entries = chains[run_id]
        for b in range(BATCHES):
            await asyncio.sleep(rng.random() / 100)  # a seeded jitter interleaves the writers
            results.append(await store.append(entries[b * BATCH : (b + 1) * BATCH]))

    await asyncio.gather(*(writer(run_id) for run_id in writers))

    total = RUNS * BATCHES * BATCH
    assert sum(r.inserted for r in results) == total
    assert sum(r.existing for r in results) == (TASKS - RUNS) * BATCHES * BATCH
    assert await store.count() == total
    verified = await store.verify_all()
    assert [(v.run_id, v.entries, v.ok) for v in verified] == [
        (run_id, BATCHES * BATCH, True) for run_id in run_ids
    ]
    for run_id in run_ids:
        assert await store.entries(run_id) == chains[run_id]


async def test_concurrent_mixed_batches_across_runs(database: Database) -> None:
    store = AuditStore(database)
    chains = {f"mixed-{r:02d}": make_chain(f"mixed-{r:02d}", 40) for r in range(RUNS)}
    # Each batch carries a slice of every run, so concurrent batches overlap on many runs.
    slices = [[e for c in chains.values() for e in c[i : i + 10]] for i in range(0, 40, 10)]

    async def writer(copy: int) -> None:
        order = list(chains)
        random.Random(copy).shuffle(order)  # each writer lists the runs in another order
        for batch in slices:
            await store.append(sorted(batch, key=lambda e: (order.index(e.run_id), e.seq)))

    await asyncio.gather(*(writer(copy) for copy in range(5)))

    assert await store.count() == RUNS * 40
    assert all(v.ok and v.entries == 40 for v in await store.verify_all())
