"""Runs that ended without their closing audit entry, for ``dee audit verify``.

A chain can verify link by link and still be incomplete: the run ended but the entry
that closes it (``adapters.storage.run_ends``) was never written. A run has ended when
its row says so (``COMPLETED``, ``CANCELED``), or when Temporal ended its execution
from outside, which leaves the row as it was (``dee.runs.execution_status``); only the
database is needed for the first, Temporal for the second. When Temporal cannot be
reached, the rows are still checked and the check says what it could not ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.service import RPCError, RPCStatusCode

from adapters.storage import Database, RunStore, UnknownRun
from adapters.storage.run_ends import OpenChain, open_chains
from dee.config import EngineConfig
from dee.connection import connect
from dee.errors import EngineError
from dee.runs.execution_status import Death, all_deaths, death_of, deaths
from interpreter.state import FINAL_STATUSES, Status

FINAL = sorted(s.value for s in FINAL_STATUSES)
NOT_FINAL = sorted(s.value for s in Status if s not in FINAL_STATUSES)


@dataclass(frozen=True, slots=True)
class Unclosed:
    """A run that ended (``ended`` says how we know) with no closing entry stored."""

    ended: str
    chain: OpenChain

    @property
    def run_id(self) -> str:
        return self.chain.run_id

    def describe(self) -> str:
        c = self.chain
        last = (
            "no entries are stored"
            if c.last_seq is None
            else f"the last is seq {c.last_seq} ({c.last_step} {c.last_action} {c.last_outcome})"
        )
        return (
            f"run {c.run_id}: ended ({self.ended}) without a closing audit entry "
            f"(end, exit, cancel accepted or resolve end); {last}"
        )


@dataclass(frozen=True, slots=True)
class ClosingCheck:
    unclosed: list[Unclosed] = field(default_factory=list)
    unasked: str | None = None  # why Temporal was not asked, when it was needed


async def check_closing(
    database: Database, config: EngineConfig, run_id: str | None
) -> ClosingCheck:
    """The ended runs (``run_id``, or all) of ``config.tenant`` whose chain has no
    closing entry (another tenant's runs are not looked at: docs/tenants.md)."""
    mine = {r.run_id for r in await RunStore(database).list(tenant=config.tenant, limit=None)}
    if run_id is not None and run_id not in mine:
        return ClosingCheck()
    scope = sorted(mine) if run_id is None else [run_id]
    by_row = await open_chains(database, run_ids=scope, statuses=FINAL)
    unclosed = [Unclosed(f"run row {c.status}", c) for c in by_row]
    if not await _any_live(database, run_id):
        return ClosingCheck(unclosed)  # every recorded run's row is final
    try:
        died = await _deaths(config, database, run_id)
    except _Unasked as exc:
        return ClosingCheck(unclosed, str(exc))
    dead = await open_chains(database, run_ids=sorted(set(died) & mine), statuses=NOT_FINAL)
    unclosed += [
        Unclosed(f"Temporal {died[c.run_id].status}: {died[c.run_id].reason}", c) for c in dead
    ]
    return ClosingCheck(sorted(unclosed, key=lambda u: u.run_id))


async def _any_live(database: Database, run_id: str | None) -> bool:
    runs = RunStore(database)
    if run_id is None:
        return bool(await runs.list(statuses=NOT_FINAL, limit=1))
    try:
        return (await runs.get(run_id)).status in NOT_FINAL
    except UnknownRun:
        return False  # not a recorded run: nothing says it started, nor that it ended


class _Unasked(Exception):
    """Temporal could not be asked; the message says why (printed as a warning)."""


async def _deaths(config: EngineConfig, database: Database, run_id: str | None) -> dict[str, Death]:
    address = config.temporal.address
    try:
        client = await connect(config)
    except EngineError as exc:
        raise _Unasked("; ".join(exc.lines)) from None
    try:
        if run_id is not None:
            try:
                death = await death_of(client, run_id)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                death = None  # never started, or its history expired
            return {} if death is None else {run_id: death}
        found = await all_deaths(client)
        if found is None:  # no visibility: describe every run that has not ended
            live = await RunStore(database).list(statuses=NOT_FINAL, limit=None)
            found = await deaths(client, [r.run_id for r in live])
        return found
    except RPCError as exc:
        raise _Unasked(f"Temporal at {address} did not answer: {exc.message}") from None


__all__ = ["FINAL", "NOT_FINAL", "ClosingCheck", "Unclosed", "check_closing"]
