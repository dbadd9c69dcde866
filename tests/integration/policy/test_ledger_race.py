"""Two gates in two processes race sends to one contact: the ledger lock lets exactly the
rules' number through (Reg F's 7 calls about a debt in 7 days; the general voice cap of
7 in 7 days), every other send is deferred, and the ledger holds exactly those sends.

Run as a module, this file is one racing process: it prints ``ready``, waits for a
line on stdin (so both start together), evaluates its sends concurrently and prints
their decisions as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.policy import PolicyConfig, PolicyGate
from adapters.policy.rules.config import RulesConfig
from adapters.policy.tables import CONTACT_SENDS
from adapters.storage import Database

from .helpers import NOON
from .test_compliance_gate import call

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[3]
PER_PROCESS = 10


async def _race(url: str, name: str, presets: tuple[str, ...], same_debt: bool) -> None:
    database = Database(url)
    gate = PolicyGate(
        database,
        PolicyConfig(consent_modes={"voice": "opt-out"}),
        rules=RulesConfig(presets=presets),
    )
    try:
        await gate.evaluate(call(f"{name}-warm-up", at=NOON.replace(year=2020)))  # connects
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        requests = [
            call(f"{name}-{i}", debt_ref="D-9" if same_debt else f"D-{name}-{i}")
            for i in range(PER_PROCESS)
        ]
        decisions = await asyncio.gather(*(gate.evaluate(r) for r in requests))
        print(
            json.dumps([[d.decision, d.policy, (d.reason or "").split(":")[0]] for d in decisions])
        )
    finally:
        await database.dispose()


async def _two_processes(
    cli_env: Mapping[str, str], db_url: str, presets: str, same_debt: bool
) -> Counter[tuple[str, str | None, str]]:
    module = "tests.integration.policy.test_ledger_race"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            db_url,
            name,
            presets,
            str(same_debt),
            env={**cli_env, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if line != b"ready\n":
            _, err = await process.communicate()
            pytest.fail(f"a racing process did not start: {line!r} {err.decode()}")
    for process in processes:  # both are connected and waiting: start them together
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    outcomes: Counter[tuple[str, str | None, str]] = Counter()
    for process in processes:
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        outcomes.update(tuple(d) for d in json.loads(out))
    return outcomes


async def _sends(database: Database) -> int:
    async with database.snapshot() as conn:
        query = (
            select(func.count()).select_from(CONTACT_SENDS).where(CONTACT_SENDS.c.sent_at == NOON)
        )
        return int(await conn.scalar(query) or 0)


async def test_two_gates_let_exactly_seven_calls_about_one_debt_through(
    database: Database, db_url: str, cli_env: Mapping[str, str]
) -> None:
    outcomes = await _two_processes(cli_env, db_url, "regf", same_debt=True)

    assert outcomes[("allow", None, "")] == 7
    deferred = {k: n for k, n in outcomes.items() if k[0] != "allow"}
    assert sum(deferred.values()) == 2 * PER_PROCESS - 7
    assert {(d, p) for d, p, _ in deferred} == {("defer", "compliance")}
    assert {rule for _, _, rule in deferred} <= {"regf.attempts_7_in_7", "general.channel_cap"}
    assert await _sends(database) == 7


async def test_two_gates_let_exactly_the_general_voice_cap_through(
    database: Database, db_url: str, cli_env: Mapping[str, str]
) -> None:
    outcomes = await _two_processes(cli_env, db_url, "", same_debt=False)

    assert outcomes == {
        ("allow", None, ""): 7,
        ("defer", "compliance", "general.channel_cap"): 2 * PER_PROCESS - 7,
    }
    assert await _sends(database) == 7


if __name__ == "__main__":
    url, name, presets, same = sys.argv[1:5]
    asyncio.run(_race(url, name, tuple(p for p in presets.split(",") if p), same == "True"))
