"""Running many inputs of a target and tallying them (the long run's engine).

Inputs are drawn by Hypothesis from the target's strategy (``cases.STRATEGIES``),
under a fixed seed, with no shrinking and no example database: every input is judged
and counted, none stops the run. Issue 18's seeds go first.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from bench.fuzzing.isolation import Isolated
from bench.fuzzing.seeds import Seed, seeds_for
from bench.fuzzing.strategies import STRATEGIES
from bench.fuzzing.targets import expectation_met
from bench.fuzzing.verdict import Tally, Verdict

SYNC_TARGETS = ("plan", "cel", "template", "contact", "event", "suppression", "cli")
TARGETS = (*SYNC_TARGETS, "webhook")


class Keeper:
    """Writes each bad input to ``folder`` (a pickle ``--replay`` reads back)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.count = 0

    def keep(self, target: str, case: Any, verdict: Verdict) -> None:
        if self.folder is None or verdict.ok:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = self.folder / f"{target}-{verdict.outcome}-{self.count}.pickle"
        path.write_bytes(pickle.dumps({"target": target, "case": case, "verdict": verdict}))


def _drawn(target: str, examples: int, seed: int, judge: Callable[[Any], None]) -> None:
    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=STRATEGIES[target])
    def each(case: Any) -> None:
        judge(case)

    each()


def seed_verdicts(target: str, judge: Callable[[dict[str, Any]], Verdict]) -> list[dict[str, Any]]:
    """Each of the target's issue seeds, judged (and held to what the issue demands)."""
    rows = []
    for s in seeds_for(target):
        verdict = expectation_met(s, judge(s.case))
        rows.append(_seed_row(s, verdict))
    return rows


def _seed_row(s: Seed, verdict: Verdict) -> dict[str, Any]:
    return {
        "seed": s.name,
        "item": s.item,
        "expect": s.expect,
        "outcome": verdict.outcome,
        "seconds": round(verdict.seconds, 3),
        "detail": verdict.detail[:200],
    }


def run_sync(
    target: str,
    examples: int,
    *,
    seed: int,
    cap: float,
    keeper: Keeper,
    temporal_address: str | None = None,
) -> tuple[Tally, list[dict[str, Any]]]:
    """``examples`` inputs of a synchronous target, each in the isolated child."""
    tally = Tally(target)
    with Isolated(cap, {"temporal_address": temporal_address}) as isolated:
        seeds = seed_verdicts(target, lambda case: isolated.run(target, case))

        def judge(case: Any) -> None:
            verdict = isolated.run(target, case)
            tally.add(case, verdict)
            keeper.keep(target, case, verdict)

        _drawn(target, examples, seed, judge)
        tally.restarts = isolated.restarts
    return tally, seeds


async def run_webhooks(
    examples: int, *, seed: int, cap: float, keeper: Keeper, address: str
) -> tuple[Tally, list[dict[str, Any]]]:
    """``examples`` requests to the receiver, in this process, against ``address``."""
    from temporalio.client import Client  # noqa: PLC0415

    from bench.fuzzing.webhooks import WebhookWorld  # noqa: PLC0415

    # A click the receiver could not record is logged with its traceback, by design, and
    # the form parser logs every malformed multipart body: thousands of lines here.
    for name in ("dee", "python_multipart"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    cases: list[Any] = []
    _drawn("webhook", examples, seed, cases.append)
    tally = Tally("webhook")
    with tempfile.TemporaryDirectory(prefix="dee-fuzz-webhooks-") as folder:
        world = await WebhookWorld.open(await Client.connect(address), Path(folder))
        try:
            seeds = []
            for s in seeds_for("webhook"):
                seeds.append(_seed_row(s, expectation_met(s, await world.judge(s.case, cap))))
            for case in cases:
                verdict = await world.judge(case, cap)
                tally.add(case, verdict)
                keeper.keep("webhook", case, verdict)
        finally:
            await world.close()
    return tally, seeds


def replay(path: Path, cap: float, address: str | None) -> Verdict:
    """Judge one kept input again (``python -m bench.fuzz --replay FILE``)."""
    kept = pickle.loads(path.read_bytes())  # a file this harness wrote
    if kept["target"] == "webhook":
        assert address is not None, "a webhook input needs a Temporal server"
        return asyncio.run(_replay_webhook(kept["case"], cap, address))
    with Isolated(cap, {"temporal_address": address}) as isolated:
        return isolated.run(kept["target"], kept["case"])


async def _replay_webhook(case: Any, cap: float, address: str) -> Verdict:
    from temporalio.client import Client  # noqa: PLC0415

    from bench.fuzzing.webhooks import WebhookWorld  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        world = await WebhookWorld.open(await Client.connect(address), Path(folder))
        try:
            return await world.judge(case, cap)
        finally:
            await world.close()
