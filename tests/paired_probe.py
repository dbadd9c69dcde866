"""A scenario for ``bench.paired``'s tests: each side reports its core and when it
measured, and leaves a file each time it fills (``tests/test_bench_paired.py``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from bench.paired import Fill, Measure

SECONDS = {"fast": 0.2, "slow": 1.5}


@asynccontextmanager
async def paired_side(
    variant: str, size: int, options: Mapping[str, str]
) -> AsyncIterator[tuple[Measure, Fill]]:
    if variant == "broken":
        raise RuntimeError("this side cannot set up")
    folder = Path(options["folder"])
    fills = 0

    async def measure() -> dict[str, float]:
        begin = time.time()
        await asyncio.sleep(SECONDS[variant])  # a measurement that takes this variant's time
        allowed = os.sched_getaffinity(0)
        core = next(iter(allowed)) if len(allowed) == 1 else -1  # -1: not pinned
        return {"core": core, "begin": begin, "end": time.time(), "size": size}

    async def fill() -> None:
        nonlocal fills
        fills += 1
        (folder / f"{variant}-fill-{fills}").touch()
        await asyncio.sleep(0.05)  # a fill that takes time, as the real ones do

    yield measure, fill
