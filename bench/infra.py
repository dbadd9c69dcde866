"""What the server-backed scenarios share: the database to use, and waiting for quiet."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.proc import WorkerProcess

PG_URL = os.environ.get(
    "DEE_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    backend: str  # "postgresql" or "sqlite"
    note: str


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (``None`` when it can)."""
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_URL} is unreachable ({exc}); used SQLite instead"
    return None


@asynccontextmanager
async def bench_database(scratch: Path) -> AsyncIterator[BenchDatabase]:
    """PostgreSQL (a scratch schema, dropped afterwards) when reachable, else SQLite."""
    problem = await postgres_problem()
    if problem is not None:
        yield BenchDatabase(f"sqlite+aiosqlite:///{scratch / 'bench.db'}", "sqlite", problem)
        return
    schema = f"dee_bench_{uuid.uuid4().hex[:8]}"
    try:
        yield BenchDatabase(f"{PG_URL}?search_path={schema}", "postgresql", PG_URL)
    finally:
        dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            # The migration made the schema's roles (cluster-wide): leave none behind.
            await conn.execute(f'DROP ROLE IF EXISTS "{schema}_app", "{schema}_retention"')
        finally:
            await conn.close()


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def settle(
    worker: WorkerProcess,
    *,
    idle_share: float = 0.05,
    machine_share: float | None = 0.25,
    limit: float = 600,
) -> None:
    """Wait until the worker has (almost) nothing left to do — under ``idle_share`` of a
    core over one second — and the machine as a whole is under ``machine_share`` of a
    core: the dev server works off its own backlog (visibility, transfer tasks) after
    the worker is done, and that must not land in the next side's round either.
    ``machine_share=None``: the worker alone (another side may be busy beside it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    cores = os.cpu_count() or 1
    while loop.time() < deadline:
        before, (busy, total) = worker.cpu(), _machine_busy()
        await asyncio.sleep(1.0)
        busy_after, total_after = _machine_busy()
        machine = (busy_after - busy) / max((total_after - total) / cores, 1e-9)
        quiet = machine_share is None or machine < machine_share
        if worker.cpu() - before < idle_share and quiet:
            return
