"""Running inputs in a child process under a per-input time cap.

A hang cannot be stopped from inside: a template loop or a CEL evaluation holds the
interpreter (or sits in Rust) and ignores signals and timeouts alike. So inputs run
in a child process; the parent waits at most ``cap`` seconds for each verdict, and
on silence kills the child (counted as a hang) and starts another for the next
input. A child that dies (a crash in native code, memory exhausted past its limit)
is counted as a crash. The child's address space is capped, so an input that would
allocate without bound fails there instead of taking the machine down.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from bench.fuzzing.verdict import Verdict

MEMORY_LIMIT_BYTES = 8 * 1024**3


def _child(conn: Connection, settings: Mapping[str, Any]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    from bench.fuzzing.targets import Context, judge  # noqa: PLC0415 - in the child only

    ctx = Context(settings)
    try:
        while True:
            message = conn.recv()
            if message is None:
                return
            target, case = message
            conn.send(judge(target, case, ctx))
    finally:
        ctx.close()


class Isolated:
    """A child process that judges inputs, replaced whenever one hangs or kills it.

    Args:
        cap: Seconds an input may take (its verdict included) before it is a hang.
        settings: Handed to the child's ``targets.Context`` (e.g. ``temporal_address``).
    """

    def __init__(self, cap: float = 5.0, settings: Mapping[str, Any] | None = None) -> None:
        self.cap = cap
        self.settings = dict(settings or {})
        self.restarts = 0
        self._spawn = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            ours, theirs = self._spawn.Pipe()
            self._process = self._spawn.Process(
                target=_child, args=(theirs, self.settings), daemon=True
            )
            self._process.start()
            theirs.close()
            self._conn = ours
            self.warm()
        assert self._conn is not None
        return self._conn

    def warm(self) -> None:
        """Wait until the child has loaded what it runs (start-up is not an input's time)."""
        assert self._conn is not None
        self._conn.send(("warm", {}))
        if not self._conn.poll(120):
            raise RuntimeError("the fuzz child did not start within 120 s")
        try:
            warmed: Verdict = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"the fuzz child died while starting: {exc}") from None
        if warmed.outcome != "accepted":
            raise RuntimeError(f"the fuzz child could not start: {warmed.detail}")

    def run(self, target: str, case: Mapping[str, Any]) -> Verdict:
        """Judge ``case`` on ``target`` in the child, within the cap."""
        conn = self._start()
        begin = time.perf_counter()
        conn.send((target, case))
        if conn.poll(self.cap):
            try:
                verdict: Verdict = conn.recv()
            except EOFError:
                code = self._stop()
                return Verdict("crash", f"the child died (exit {code})", self.cap)
            return verdict
        self._stop()
        elapsed = time.perf_counter() - begin
        return Verdict("hang", f"no verdict within {self.cap:g} s", elapsed)

    def _stop(self) -> int | None:
        process, self._process, self._conn = self._process, None, None
        self.restarts += 1
        if process is None:
            return None
        process.kill()
        process.join(10)
        code: int | None = process.exitcode
        return code

    def close(self) -> None:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(10)
            except (BrokenPipeError, OSError):
                pass
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self._process, self._conn = None, None

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
