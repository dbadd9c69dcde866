"""``make bench``: every scenario, then ``bench/results/latest.{json,md,png}``.

Scenarios 1, 4, 5 and 6 each get a fresh embedded dev server (``dee.devserver``), so
one scenario's history does not slow the next; scenarios 2 and 3 and the existing
``audit_cost`` / ``whatif_speed`` figures run as their own modules in subprocesses
(``simulate_speed`` pins its process to one core). Scenario 3 needs PostgreSQL and
is reported as skipped, with the reason, when it is unreachable.

    python -m bench.run_all [--quick] [--only overhead,memory ...] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import enrolment, event_latency, memory, overhead
from bench.infra import postgres_problem
from bench.report import markdown, write_all
from bench.results_file import RESULTS
from dee.devserver import dev_server

ROOT = Path(__file__).resolve().parents[1]
FULL = {
    # Paired rounds (``bench.paired``): an even number, so each side spends as many
    # rounds on either core.
    "overhead": {"runs": 300, "rounds": 6},
    "simulate": {"rounds": 7, "runs": 5000, "instructions": 1000},
    "audit_append": {"entries": 200_000, "batch": 2000},
    "event_latency": {"events": 1000, "runs": 10},
    "enrolment": {"contacts": 5000, "rounds": 4},
    "memory": {"runs": 5000},
}
QUICK = {
    "overhead": {"runs": 40, "rounds": 2},
    "simulate": {"rounds": 3, "runs": 1000, "instructions": 100},
    "audit_append": {"entries": 20_000, "batch": 2000},
    "event_latency": {"events": 100, "runs": 5},
    "enrolment": {"contacts": 200, "rounds": 2},
    "memory": {"runs": 300},
}


def _module(name: str, sizes: dict[str, int], output: str) -> dict[str, Any]:
    args = [sys.executable, "-m", f"bench.{name}"]
    for key, value in sizes.items():
        args += [f"--{key}", str(value)]
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    loaded: dict[str, Any] = json.loads((RESULTS / output).read_text())
    return loaded


async def _served(work: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    async with dev_server(ui=False) as dev:
        return await work(dev.address)


async def collect(
    sizes: dict[str, dict[str, int]], only: set[str], *, reuse: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {"skipped": {}}
    pg = await postgres_problem()
    steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
        ("overhead", lambda: overhead.measure(**sizes["overhead"])),  # a server per side
        ("event_latency",
         lambda: _served(lambda a: event_latency.run(a, **sizes["event_latency"]))),
        ("enrolment", lambda: enrolment.run(**sizes["enrolment"])),  # a server per side
        ("memory", lambda: _served(lambda a: memory.run(a, **sizes["memory"]))),
    ]  # fmt: skip
    for name, module, output in (
        ("simulate", "simulate_speed", "simulate.json"),
        ("audit_append", "audit_append", "audit_append.json"),
    ):
        if name not in only:
            if reuse and (RESULTS / output).exists():
                results[name] = json.loads((RESULTS / output).read_text())
                results[name]["reused_from_an_earlier_run"] = True
            continue
        if name == "audit_append" and pg is not None:
            results["skipped"][name] = pg
            continue
        print(f"== {name}", flush=True)
        results[name] = await asyncio.to_thread(_module, module, sizes[name], output)
    for name, work in steps:
        if name in only:
            print(f"== {name}", flush=True)
            begin = time.perf_counter()
            results[name] = await work()
            results[name]["seconds_taken"] = round(time.perf_counter() - begin, 1)
            # Saved at once, so a later scenario's failure loses nothing (see --reuse).
            (RESULTS / f"{name}.json").write_text(json.dumps(results[name], indent=2) + "\n")
        elif reuse and (RESULTS / f"{name}.json").exists():
            results[name] = json.loads((RESULTS / f"{name}.json").read_text())
            results[name]["reused_from_an_earlier_run"] = True
    if "context" in only:  # figures beside the scenarios: history cost, what-if, persist
        results["audit_cost"] = await asyncio.to_thread(
            _module, "audit_cost", {}, "audit_cost.json"
        )
        results["whatif"] = await asyncio.to_thread(_module, "whatif_speed", {}, "whatif.json")
        if pg is None:  # the per-event audit transaction against the driver's floor
            results["persist_cost"] = await asyncio.to_thread(
                _module, "persist_cost", {}, "persist_cost.json"
            )
        else:
            results["skipped"]["persist_cost"] = pg
    results["database_for_scenarios_3_to_5"] = "postgresql" if pg is None else f"sqlite ({pg})"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", help="comma-separated scenario names (default: all)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --only: take the other scenarios from their saved bench/results/*.json",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else {*sizes, "context"}
    begin = time.perf_counter()
    results = asyncio.run(collect(sizes, only, reuse=args.reuse))
    results.update(
        mode="quick" if args.quick else "full",
        sizes={k: v for k, v in sizes.items() if k in only or args.reuse},
        when=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        seconds_total=round(time.perf_counter() - begin, 1),
    )
    paths = write_all(results, RESULTS)
    print(markdown(results))
    print("written: " + ", ".join(str(p.relative_to(ROOT)) for p in paths))


if __name__ == "__main__":
    main()
