"""What each option ``dee start`` passes to ``start_workflow`` costs on the dev server.

Scenario 5 compares ``dee start --contacts`` with a bare ``start_workflow`` loop. This
splits the difference: N starts of the wait-first plan (64 at a time, the worker
DEE ships running), each variant on a fresh dev server, with the bare loop first and
last as a drift check:

- ``bare``: ``RunInput`` only, as scenario 5's raw side;
- ``search_attributes``: plus the five DEE search attributes a start can carry (the
  engine sends them with a delayed start only: ``dee.runs.start_attributes``);
- ``summary``: plus the UI's static summary and details;
- ``conflict_policy``: plus ``id_conflict_policy=USE_EXISTING``;
- ``all``: everything ``RunStarter.start_run`` passes for a delayed start.

    python -m bench.start_options [--starts 2000]

Writes ``bench/results/start_options.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from bench.enrolment import fresh_worker, raw_starts
from bench.infra import bench_database
from bench.results_file import publish
from dee.runs.start_attributes import start_attributes

VARIANTS: dict[str, tuple[bool, bool, bool]] = {  # search attributes, summary, policy
    "bare": (False, False, False),
    "search_attributes": (True, False, False),
    "summary": (False, True, False),
    "conflict_policy": (False, False, True),
    "all": (True, True, True),
    "bare_again": (False, False, False),
}


def _options(contact_id: str, digest: str, chosen: tuple[bool, bool, bool]) -> dict[str, Any]:
    attributes, summary, policy = chosen
    options: dict[str, Any] = {}
    if attributes:
        options["search_attributes"] = start_attributes(
            "default", "bench-wait-first", 1, contact_id
        )
    if summary:
        options["static_summary"] = f"Wait, then email (bench) (v1) for contact {contact_id}"
        options["static_details"] = f"plan `bench-wait-first` v1 `{digest}`\ncontact `{contact_id}`"
    if policy:
        options["id_conflict_policy"] = WorkflowIDConflictPolicy.USE_EXISTING
    return options


async def run(starts: int) -> dict[str, Any]:
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dee-bench-") as scratch:
        async with bench_database(Path(scratch)) as db:
            for name, chosen in VARIANTS.items():
                async with fresh_worker(db.url) as side:
                    client = await Client.connect(side.address)
                    options = functools.partial(_options, chosen=chosen)
                    seconds = await raw_starts(client, side.queue, starts, options)
                rates[name] = round(starts / seconds, 1)
                print(f"  {name}: {rates[name]} starts/s", flush=True)
    bare = (rates["bare"] + rates["bare_again"]) / 2
    return {
        "starts": starts,
        "starts_per_second": rates,
        "relative_to_bare": {k: round(v / bare, 3) for k, v in rates.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--starts", type=int, default=2000)
    args = parser.parse_args()
    result = asyncio.run(run(args.starts))
    publish("start_options", result)


if __name__ == "__main__":
    main()
