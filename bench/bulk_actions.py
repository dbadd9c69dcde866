"""Bulk operator actions: ``dee runs retry --yes`` over a wave of FAILED runs.

The issue's proof at full size (the suite's test, tests/integration/bulk, uses 40 runs):
on the dev server, with the worker DEE ships in its own process (``dee worker``) and a
real SMTP relay that refuses every recipient, N runs of a one-email plan fail at their
send. Then, as an operator would, through the real command in a subprocess:

1. ``dee runs retry --status FAILED --plan P`` (dry run): must print the count, and
   change nothing (every run still FAILED, no retry entry);
2. the relay is fixed; ``dee runs retry ... --yes --concurrency C``: timed end to end
   (process start included), every run's JSON line must say ok;
3. every run must then hold exactly one ``retry`` entry with the operator's ``by`` and
   ``reason`` in its audit chain.

PostgreSQL (a scratch schema) when reachable, else SQLite.

    python -m bench.bulk_actions [--runs 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.infra import bench_database
from dee.connection import connect
from dee.devserver import dev_server
from dee.engine import Engine
from tests.integration.bulk.wave import failed_wave, outage_sink, settings_file, wave_config
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[1]
PLAN = "bulk-bench"
BATCH = 100


def _dee(settings: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dee", *args], capture_output=True, text=True, cwd=ROOT,
        env={**env, "DEE_CONFIG": str(settings)}, check=False, timeout=3600,
    )  # fmt: skip
    return time.perf_counter() - started, done


async def _retry_entries(engine: Engine, run_id: str) -> list[dict[str, object]]:
    return [
        dict(e.detail)
        for e in await engine.get_timeline(run_id)
        if (e.action, e.outcome) == ("retry", "accepted")
    ]


async def main(runs: int, concurrency: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch, outage_sink() as sink:
        async with bench_database(Path(scratch)) as db, dev_server(ui=False) as server:
            config = wave_config(server, sink, db.url)
            settings = settings_file(config, Path(scratch) / "dee.yaml")
            env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
            worker = subprocess.Popen(
                [sys.executable, "-m", "dee", "worker"], cwd=ROOT,
                env={**env, "DEE_CONFIG": str(settings)}, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            engine = await Engine.connect(config, client=await connect(config))
            try:
                return await _scenario(engine, sink, settings, runs, concurrency, db.backend)
            finally:
                await engine.close()
                worker.terminate()
                worker.wait(timeout=60)


async def _scenario(
    engine: Engine, sink: object, settings: Path, runs: int, concurrency: int, backend: str
) -> dict[str, object]:
    started = time.perf_counter()
    ids: list[str] = []
    while len(ids) < runs:  # in batches: a thousand sends at once would time the worker out
        size = min(BATCH, runs - len(ids))
        ids += await failed_wave(engine, size, PLAN, timeout=600, first=len(ids))
    wave_seconds = time.perf_counter() - started
    select = ("runs", "retry", "--status", "FAILED", "--plan", PLAN)
    dry_seconds, dry = await asyncio.to_thread(_dee, settings, *select)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"{runs} run(s) match"), dry.stdout
    for run_id in ids:
        assert (await engine.runs.get(run_id)).status == "FAILED"
        assert await _retry_entries(engine, run_id) == []
    sink.handler.refusing = False  # type: ignore[attr-defined]
    act_seconds, acted = await asyncio.to_thread(
        _dee, settings, *select, "--yes", "--by", "bench", "--reason", "relay fixed",
        "--concurrency", str(concurrency),
    )  # fmt: skip
    lines = [json.loads(line) for line in acted.stdout.splitlines()]
    assert sorted(line["runId"] for line in lines) == sorted(ids), acted.stderr
    refused = [line for line in lines if not line["ok"]]
    assert acted.returncode == (1 if refused else 0), acted.stderr
    # A run whose send the overloaded worker lost track of (send_outcome_unknown via
    # SMTP) is rightly refused without --resend: reported, not an error of the bench.
    for line in lines:
        if not line["ok"]:
            continue
        run_id = line["runId"]
        found = await until(
            lambda r=run_id: _retry_entries(engine, r),  # type: ignore[misc]
            lambda f: len(f) >= 1,
            what=f"the retry entry of {run_id}",
            timeout=120,
        )
        assert [(d["by"], d["reason"]) for d in found] == [("bench", "relay fixed")], found
    kinds: dict[str, int] = {}
    for line in refused:
        failure = (await engine.runs.get(line["runId"])).failure or {}
        kinds[str(failure.get("kind"))] = kinds.get(str(failure.get("kind")), 0) + 1
    return {
        "runs": runs,
        "concurrency": concurrency,
        "database": backend,
        "waveSeconds": round(wave_seconds, 2),
        "dryRunSeconds": round(dry_seconds, 2),
        "retrySeconds": round(act_seconds, 2),
        "runsPerSecond": round(runs / act_seconds, 1),
        "refused": len(refused),
        "refusedFailureKinds": kinds,
        "refusedSample": [line["error"] for line in refused[:3]],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    print(json.dumps(asyncio.run(main(options.runs, options.concurrency)), indent=2))
