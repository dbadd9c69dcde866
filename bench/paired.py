"""Two variants of a scenario measured at the same time, each on a core of its own.

Measured one after the other, even on a fresh server per batch, the same code's
throughput moved by up to a fifth between consecutive batches on a shared host
(2026-11-22: the engine 9.9, 12.6, 10.4, 12.9 runs/s in one run of scenario 1, its
server's CPU per run 84-107 ms), so a round's ratio carried that drift. Here both
variants of a round run at once: each side is a process pinned to one core, which its
dev server, worker and client inherit, so the host's speed changes reach both alike.
The cores swap every round, so neither side keeps a faster core.

Both sides set up (server, worker, warm-up), then start their measured part together
(``go`` on stdin). A side that finishes first keeps its core busy with unmeasured
work of the same kind until the other has finished (``stop``), so the slower side
never runs beside an idle sibling core.

A scenario takes part through a ``paired_side(variant, size, options)`` async context
manager in its module (``bench.overhead``, ``bench.enrolment``), yielding
``(measure, fill)``: one measured part returning its figures, and one unmeasured unit
of filler work.

    python -m bench.paired --core K --scenario MODULE --variant V --size N [--option k=v]
        (one side; internal)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import IO, Any, Protocol

ROOT = Path(__file__).resolve().parents[1]

Figures = dict[str, float]
Measure = Callable[[], Awaitable[Figures]]
Fill = Callable[[], Awaitable[None]]


class PairedSide(Protocol):
    def __call__(
        self, variant: str, size: int, options: Mapping[str, str]
    ) -> AbstractAsyncContextManager[tuple[Measure, Fill]]: ...


def cores() -> list[int] | None:
    """The first two cores this process may use; ``None`` with fewer than two."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[:2] if len(allowed) >= 2 else None


async def pair(
    scenario: str,
    a: str,
    b: str,
    size: int,
    *,
    swap: bool,
    options: Mapping[str, str] | None = None,
) -> dict[str, Figures]:
    """One round of ``scenario`` (a module with ``paired_side``): variants ``a`` and ``b``
    at once, ``a`` on the first core unless ``swap``. Without two cores, one after the
    other in this process."""
    if a == b:
        raise ValueError(f"a pair needs two different variants, not {a!r} twice")
    opts = dict(options or {})
    pinned = cores()
    if pinned is None:
        order = (b, a) if swap else (a, b)
        return {v: await _alone(scenario, v, size, opts) for v in order}
    first, second = pinned if not swap else pinned[::-1]
    sides: dict[str, subprocess.Popen[bytes]] = {}
    try:
        sides[a] = _spawn(first, scenario, a, size, opts)
        sides[b] = _spawn(second, scenario, b, size, opts)
        await asyncio.gather(*(asyncio.to_thread(_expect, p, "ready") for p in sides.values()))
        for proc in sides.values():
            _say(proc, "go")
        got = await asyncio.gather(*(asyncio.to_thread(_result, p) for p in sides.values()))
        for proc in sides.values():
            _say(proc, "stop")
        for proc in sides.values():
            if await asyncio.to_thread(proc.wait) != 0:
                raise RuntimeError(f"a bench side exited with status {proc.returncode}")
        return dict(zip(sides, got, strict=True))
    finally:
        await asyncio.to_thread(_end, list(sides.values()))


def _end(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop what is left of the sides: each side's whole process group (its dev server,
    worker and command with it; a side is a session of its own), politely first."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [p for p in procs if p.poll() is None]
        for proc in left:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        for proc in left:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
    for proc in procs:  # children that outlived a side that had already exited
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _side_of(scenario: str) -> PairedSide:
    side: PairedSide | None = getattr(importlib.import_module(scenario), "paired_side", None)
    if side is None:
        raise ValueError(f"{scenario} has no paired_side")
    return side


async def _alone(scenario: str, variant: str, size: int, options: Mapping[str, str]) -> Figures:
    async with _side_of(scenario)(variant, size, options) as (measure, _):
        return await measure()


def _spawn(
    core: int, scenario: str, variant: str, size: int, options: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "bench.paired", "--core", str(core), "--scenario", scenario]
    args += ["--variant", variant, "--size", str(size)]
    for key, value in options.items():
        args += ["--option", f"{key}={value}"]
    # A session of its own, so that an interrupted round can stop the side's whole
    # process group (``_end``).
    return subprocess.Popen(
        args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )


def _line(stream: IO[bytes] | None) -> str:
    assert stream is not None
    return stream.readline().decode().strip()


def _expect(proc: subprocess.Popen[bytes], word: str) -> None:
    got = _line(proc.stdout)
    if got != word:
        raise RuntimeError(f"a bench side said {got!r} instead of {word!r} ({_status(proc)})")


def _result(proc: subprocess.Popen[bytes]) -> Figures:
    got = _line(proc.stdout)
    if not got.startswith("{"):
        raise RuntimeError(f"a bench side gave no result ({_status(proc)})")
    figures: Figures = json.loads(got)
    return figures


def _status(proc: subprocess.Popen[bytes]) -> str:
    """How a side that stopped talking ended (it closed its output, so it is ending)."""
    try:
        return f"exit status {proc.wait(timeout=10)}"
    except subprocess.TimeoutExpired:
        return "still running"


def _say(proc: subprocess.Popen[bytes], word: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(f"{word}\n".encode())
    proc.stdin.flush()


async def _side(scenario: str, variant: str, size: int, options: Mapping[str, str]) -> None:
    """The pinned process: set up, wait for ``go``, measure, fill until ``stop``."""
    async with _side_of(scenario)(variant, size, options) as (measure, fill):
        print("ready", flush=True)
        if await asyncio.to_thread(sys.stdin.readline) != "go\n":
            raise SystemExit("no 'go' from the bench")
        stopped = threading.Event()

        def until_stop() -> None:
            sys.stdin.readline()  # "stop", or the end of input if the bench went away
            stopped.set()

        threading.Thread(target=until_stop, daemon=True).start()
        print(json.dumps(await measure()), flush=True)
        while not stopped.is_set():
            await fill()


def main() -> None:
    parser = argparse.ArgumentParser(description="one side of a paired round (internal)")
    parser.add_argument("--core", type=int, required=True)
    parser.add_argument("--scenario", required=True, help="module with paired_side")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    options: dict[str, Any] = dict(o.split("=", 1) for o in args.option)
    os.sched_setaffinity(0, {args.core})  # before anything starts: children inherit it
    asyncio.run(_side(args.scenario, args.variant, args.size, options))
    # Everything the side opened is closed by now. Leave without the interpreter's
    # teardown: the Temporal SDK's threads can abort it ("PyGILState_Release",
    # bench/worker_proc.py), which would throw away a round already measured.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
