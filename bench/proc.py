"""Running a benchmark worker process and reading its CPU time and memory from /proc."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class WorkerProcess:
    pid: int

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)


@asynccontextmanager
async def worker_process(
    address: str,
    queue: str,
    *,
    kind: str = "fake",
    cache: int = 1000,
    database: str = "",
    codec_keys: str = "",
) -> AsyncIterator[WorkerProcess]:
    """Start ``bench.worker_proc`` and wait until it polls; terminate it afterwards.

    A plain ``subprocess.Popen`` waited on in a thread, not an asyncio subprocess: with
    asyncio's child watcher, a full run once hung for good awaiting a worker that had
    already exited.
    """
    args = [sys.executable, "-m", "bench.worker_proc", "--address", address, "--queue", queue]
    args += ["--kind", kind, "--cache", str(cache)]
    if database:
        args += ["--database", database]
    if codec_keys:  # the worker's client encrypts payloads with DEE's codec
        args += ["--codec-keys", codec_keys]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=120)
        if line.strip() != b"ready":
            raise RuntimeError(f"the bench worker did not start (exit {proc.poll()})")
        yield WorkerProcess(proc.pid)
    finally:
        await asyncio.to_thread(_stop, proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
