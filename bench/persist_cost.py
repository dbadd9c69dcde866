"""The database transaction on every event's path, against the driver doing the same.

Each event a run decides on ends in ``Bookkeeper.persist`` (the ``append_audit`` local
activity): one transaction that checks the new entry links to the stored chain,
inserts it and updates the run's row. This times that call for one entry at a time,
as scenario 4 makes it, and interleaved with it the floor: the same three statements
and commit sent through a bare asyncpg connection (prepared, no SQLAlchemy, no checks
in Python). What lies between the two is DEE's own cost per event in this step.
A third side, ``persist_signed``, is the worker's path: the same call with checkpoint
signing on (one signed checkpoint of the run's new head per call, same transaction).

    python -m bench.persist_cost [--entries 2000]

Needs PostgreSQL (default postgresql://postgres@127.0.0.1:5432/test); works in a
scratch schema that it drops afterwards. Writes ``bench/results/persist_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.bookkeeping import Bookkeeper
from activities.contracts import AuditBatch, RunRow
from adapters.storage import CheckpointSigner, PlanStore, open_database
from adapters.storage.audit_append import detail_json
from bench.event_latency import latency_figures
from bench.infra import PG_URL
from bench.plans import wait_first_plan
from bench.results_file import publish
from interpreter.chain import ChainedEntry, chain
from interpreter.trace import TraceEntry

PER_RUN = 20  # entries per run: a run's chain grows one event at a time
WARM_UP = 50
# The floor's statements: what persist's transaction asks PostgreSQL, minus its checks.
_LINK = "SELECT hash FROM audit_entries WHERE run_id = $1 AND seq = $2"
_ENTRY = (
    "INSERT INTO audit_entries (run_id, seq, tick, recorded_at, step_id, action, outcome,"
    " detail, prev_hash, hash) VALUES ($1, $2, $3, now(), $4, $5, $6, $7::json, $8, $9)"
)
_RUN = (
    "INSERT INTO runs (run_id, tenant, plan_id, plan_version, contact_id, status,"
    " current_step, created_at, updated_at) VALUES ($1, 'bench', $2, $3, 'c', 'WAITING', $4,"
    " now(), now()) ON CONFLICT (run_id) DO UPDATE SET current_step = excluded.current_step,"
    " updated_at = excluded.updated_at RETURNING *"
)


def _entries(run_id: str) -> list[ChainedEntry]:
    detail = {"type": "open"}
    return chain(
        run_id, [TraceEntry(i, "wait", "event", "recorded", detail) for i in range(PER_RUN)]
    )


async def _floor(conn: asyncpg.Connection, e: ChainedEntry, plan: tuple[str, int]) -> None:
    async with conn.transaction():
        await conn.fetchval(_LINK, e.run_id, e.seq - 1)
        await conn.execute(
            _ENTRY, e.run_id, e.seq, e.tick, e.step_id, e.action, e.outcome,
            detail_json(e.detail), e.prev_hash, e.hash,
        )  # fmt: skip
        await conn.fetchrow(_RUN, e.run_id, *plan, e.step_id)


async def measure(entries: int) -> dict[str, Any]:
    schema = f"dee_bench_{uuid.uuid4().hex[:8]}"
    database = await open_database(PG_URL, search_path=schema)
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    raw = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        plan = wait_first_plan()
        await PlanStore(database, "bench").put(plan)  # the runs below are tenant bench's
        keeper = Bookkeeper(database)
        signing = Bookkeeper(database, signer=CheckpointSigner(Ed25519PrivateKey.generate()))
        timings: dict[str, list[float]] = {"persist": [], "driver_floor": [], "persist_signed": []}
        for n in range(0, entries + WARM_UP, PER_RUN):
            ours, floor = _entries(f"persist-{n}"), _entries(f"floor-{n}")
            signed = _entries(f"signed-{n}")
            for i in range(min(PER_RUN, entries + WARM_UP - n)):
                run, step = f"persist-{n}", ours[i].step_id
                row = RunRow(run, "bench", plan.id, plan.version, "c", "WAITING", step)
                batch = AuditBatch(row, [ours[i].as_dict()])
                row_s = RunRow(f"signed-{n}", "bench", plan.id, plan.version, "c", "WAITING", step)
                batch_s = AuditBatch(row_s, [signed[i].as_dict()])
                sides = [
                    ("persist", lambda b=batch: keeper.persist(b)),
                    ("driver_floor", lambda e=floor[i]: _floor(raw, e, (plan.id, plan.version))),
                    ("persist_signed", lambda b=batch_s: signing.persist(b)),
                ]
                turn = (n + i) % len(sides)  # rotate who goes first
                for name, work in sides[turn:] + sides[:turn]:
                    begin = time.perf_counter()
                    await work()
                    timings[name].append((time.perf_counter() - begin) * 1000)
        stored = dict(
            await raw.fetch(
                "SELECT split_part(run_id, '-', 1), count(*) FROM audit_entries GROUP BY 1"
            )
        )
    finally:
        await raw.execute(f'DROP SCHEMA "{schema}" CASCADE')
        # The migration made the schema's roles (cluster-wide): leave none behind.
        await raw.execute(f'DROP ROLE IF EXISTS "{schema}_app", "{schema}_retention"')
        await raw.close()
        await database.dispose()
    figures = {name: latency_figures(values[WARM_UP:]) for name, values in timings.items()}
    return {
        "benchmark": "persist_cost",
        "entries": entries,
        "warm_up": WARM_UP,
        "stored_entries": {
            "persist": stored.get("persist", 0),
            "driver_floor": stored.get("floor", 0),
        },
        **figures,
        "overhead_p50_ms": round(
            figures["persist"]["p50_ms"] - figures["driver_floor"]["p50_ms"], 2
        ),
        "signing_p50_ms": round(
            figures["persist_signed"]["p50_ms"] - figures["persist"]["p50_ms"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    result = asyncio.run(measure(args.entries))
    publish("persist_cost", result)


if __name__ == "__main__":
    main()
