"""What DEE's search attributes cost scenario 1's throughput, and what is left.

Scenario 1 compares ``PlanRunWorkflow`` with a hand-written workflow making the same
search-attribute upserts, and reports its ratio against the bare hand-written
workflow, which makes none. This splits that second ratio in two with
``bench.paired`` rounds (both variants at once, each on a core of its own, the cores
swapping every round):

* ``dee`` against ``dee_without_search_attributes`` (``temporal.searchAttributes:
  false``): what the three upserts per run cost (status and step at each rest, the
  run's identity with the first);
* ``dee_without_search_attributes`` against ``handwritten_without_search_attributes``:
  what is left, the interpreter's own cost with no upserts on either side;
* ``dee`` against ``dee_on_a_cache_off_server``: what DEE's dev server saves by
  keeping its search-attribute cache on, which the CLI's default turns off
  (``dee.devserver``).

    python -m bench.search_attribute_cost [--runs 300] [--rounds 4]

Writes ``bench/results/search_attribute_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

from bench import paired
from bench.results_file import publish

PAIRS = (  # (name of the ratio, variant over variant)
    ("search_attributes", "dee", "dee_without_search_attributes"),
    ("interpreter", "dee_without_search_attributes", "handwritten_without_search_attributes"),
    ("search_attribute_cache", "dee", "dee_on_a_cache_off_server"),
)


async def run(runs: int, rounds: int) -> dict[str, Any]:
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in PAIRS}
    figures: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {a: [], b: []} for name, a, b in PAIRS
    }
    for r in range(rounds):
        for name, a, b in PAIRS:
            got = await paired.pair("bench.overhead", a, b, runs, swap=r % 2 == 1)
            figures[name][a].append(got[a])
            figures[name][b].append(got[b])
            ratios[name].append(got[a]["runs_per_second"] / got[b]["runs_per_second"])
            print(f"  round {r + 1}/{rounds} {a} / {b}: {ratios[name][-1]:.3f}", flush=True)

    def med(rows: list[dict[str, float]], key: str, digits: int) -> float:
        return round(statistics.median(row[key] for row in rows), digits)

    return {
        "runs": runs,
        "rounds": rounds,
        "design": "paired, a core per side" if paired.cores() else "sequential",
        "ratio_median": {name: round(statistics.median(v), 3) for name, v in ratios.items()},
        "ratio_per_round": {name: [round(x, 3) for x in v] for name, v in ratios.items()},
        "per_pair": {
            name: {
                variant: {
                    "runs_per_second": med(rows, "runs_per_second", 2),
                    "worker_cpu_seconds_per_run": med(rows, "cpu_per_run", 5),
                    "server_cpu_seconds_per_run": med(rows, "server_cpu_per_run", 5),
                    "cluster_metadata_reads_per_run": med(rows, "metadata_reads_per_run", 1),
                }
                for variant, rows in sides.items()
            }
            for name, sides in figures.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.rounds))
    publish("search_attribute_cost", result)


if __name__ == "__main__":
    main()
