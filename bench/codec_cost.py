"""What payload encryption (``adapters.codec``, AES-256-GCM) costs scenario 1.

``bench.paired`` rounds (both variants at once, each on a core of its own, the cores
swapping every round) of ``dee_encrypted`` (client and worker encrypt every payload,
as DEE's do) against ``dee`` (the SDK's plain JSON payloads), the engine's sales plan
on instant activities as in scenario 1; and, beside them, the codec alone: encrypting
and decrypting the sales plan's start input (``RunInput``), per payload.

    python -m bench.codec_cost [--runs 300] [--rounds 4]

Writes ``bench/results/codec_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bench import paired
from bench.codec_keys import BENCH_CODEC_KEYS, bench_converter
from bench.results_file import publish

PAIR = ("dee_encrypted", "dee")


async def _start_input_payload_cost(repeat: int = 2000) -> dict[str, float]:
    """Microseconds to encode then decode the sales plan's start input, and its sizes."""
    from bench.overhead import run_input  # noqa: PLC0415 - the scenario's own input

    converter = bench_converter(BENCH_CODEC_KEYS)
    codec = converter.payload_codec
    assert codec is not None
    [payload] = converter.payload_converter.to_payloads([run_input("codec-cost", 1)])

    async def cycle() -> float:
        start = time.perf_counter()
        for _ in range(repeat):
            await codec.decode(await codec.encode([payload]))
        return (time.perf_counter() - start) / repeat * 1e6

    [sealed] = await codec.encode([payload])
    return {
        "encode_decode_microseconds": round(min([await cycle() for _ in range(5)]), 1),
        "plain_bytes": payload.ByteSize(),
        "encrypted_bytes": sealed.ByteSize(),
    }


async def run(runs: int, rounds: int) -> dict[str, Any]:
    a, b = PAIR
    ratios: list[float] = []
    rows: dict[str, list[dict[str, float]]] = {a: [], b: []}
    for r in range(rounds):
        got = await paired.pair("bench.overhead", a, b, runs, swap=r % 2 == 1)
        rows[a].append(got[a])
        rows[b].append(got[b])
        ratios.append(got[a]["runs_per_second"] / got[b]["runs_per_second"])
        print(f"  round {r + 1}/{rounds} {a} / {b}: {ratios[-1]:.3f}", flush=True)

    def med(side: str, key: str, digits: int) -> float:
        return round(statistics.median(row[key] for row in rows[side]), digits)

    return {
        "runs": runs,
        "rounds": rounds,
        "design": "paired, a core per side" if paired.cores() else "sequential",
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_per_round": [round(x, 3) for x in ratios],
        "per_side": {
            side: {
                "runs_per_second": med(side, "runs_per_second", 2),
                "worker_cpu_seconds_per_run": med(side, "cpu_per_run", 5),
                "server_cpu_seconds_per_run": med(side, "server_cpu_per_run", 5),
                "history_events": med(side, "events", 0),
            }
            for side in PAIR
        },
        "start_input": await _start_input_payload_cost(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.rounds))
    publish("codec_cost", result)


if __name__ == "__main__":
    main()
