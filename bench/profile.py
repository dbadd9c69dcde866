"""Profile the worker's hot path with py-spy while it runs scenario 1's engine runs.

Attaches ``py-spy record`` to the worker process (``bench.worker_proc``, fake
activities) for one batch of N short-plan runs through ``PlanRunWorkflow`` and one
through the hand-written workflow, and summarizes each profile: the share of
samples spent in DEE's own code (``workflows/``, ``interpreter/``, ``activities/``)
and the functions with the most samples, inclusive and self.

    python -m bench.profile [--runs 200] [--label before]

Writes ``bench/results/profile-<label>.json``; the raw collapsed stacks (megabytes, for a
flame graph) go to the temporary directory as ``dee-profile-<label>-<side>.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.overhead import run_batch, variant_of
from bench.proc import worker_process
from bench.results_file import publish
from dee.devserver import dev_server

ROOT = Path(__file__).resolve().parents[1]
# The workflow code under test: the engine's and the baseline's (not the bench harness).
OURS = ("workflows/", "interpreter/", "bench/handwritten.py")
# Where the sandbox imports a run's workflow module (for every run, unless passed through).
SANDBOX_IMPORT = "_WorkflowWorker._create_workflow_instance"
_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^:()]+)(:\d+)?\)$")


def _where(frame: str) -> tuple[str, str]:
    """(function, path relative to the repository or site-packages) of a py-spy frame."""
    m = _FRAME.match(frame)
    if m is None:
        return frame, ""
    path = m["file"]
    for marker in ("site-packages/", f"{ROOT}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return m["fn"], path


def summarize(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Inclusive and self sample counts from py-spy's raw (collapsed-stack) output."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    ours = imports = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f"{fn} ({path})" for fn, path in map(_where, stack.split(";"))]
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
        if any(any(f"({p}" in name for p in OURS) for name in frames):
            ours += count
        if any(name.startswith(SANDBOX_IMPORT) for name in frames):
            imports += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(n / total, 4)} for name, n in counter.most_common(top)
        ]

    ours_inclusive = Counter({k: v for k, v in inclusive.items() if any(p in k for p in OURS)})
    return {
        "samples": total,
        "share_in_dee_code": round(ours / total, 4) if total else 0.0,
        "share_in_sandbox_import": round(imports / total, 4) if total else 0.0,
        "top_inclusive_dee": share(ours_inclusive),
        "top_self": share(own),
    }


async def _profiled_batch(
    client: Client, pid: int, workflow: str, queue: str, runs: int, out: Path
) -> str:
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--rate", "250", "--format", "raw", "--output", str(out), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(1.0)  # let py-spy attach before the batch starts
    await run_batch(client, workflow, queue, runs)
    spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    await spy.wait()
    return out.read_text() if out.exists() else ""


async def profile(address: str, runs: int, label: str) -> dict[str, Any]:
    client = await Client.connect(address)
    queue = f"bench-profile-{uuid.uuid4().hex[:8]}"
    result: dict[str, Any] = {"runs": runs, "label": label}
    async with worker_process(address, queue) as worker:
        for side in ("dee", "handwritten"):
            await run_batch(client, variant_of(side).workflow, queue, 20)  # warm-up
        for side in ("dee", "handwritten"):
            raw = Path(tempfile.gettempdir()) / f"dee-profile-{label}-{side}.txt"
            cpu = worker.cpu()
            text = await _profiled_batch(
                client, worker.pid, variant_of(side).workflow, queue, runs, raw
            )
            result[side] = {
                "worker_cpu_seconds_per_run": round((worker.cpu() - cpu) / runs, 5),
                **summarize(text),
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--label", default="latest")
    args = parser.parse_args()

    async def go() -> dict[str, Any]:
        async with dev_server(ui=False) as dev:
            return await profile(dev.address, args.runs, args.label)

    result = asyncio.run(go())
    publish(f"profile-{args.label}", result)


if __name__ == "__main__":
    main()
