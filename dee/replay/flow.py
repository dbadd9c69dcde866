"""The one replay flow ``Engine.replay`` and ``dee replay`` share.

A run is decoded from its Temporal history (fetched from the server, or an exported
file), compared with the audit chain as the database stores it where the database
holds one (else with the chain the history carries), replayed by the pure
interpreter on its own plan or another version and, on request, checked against
today's workflow code: Temporal's Replayer on the history, and a re-execution in an
isolated time-skipping server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from adapters.storage.audit import AuditStore
from dee.replay.comparison import replay_run
from dee.replay.from_audit import stored_chain, with_stored_chain
from dee.replay.from_history import HistoryRun, decode_history, fetch_history
from dee.replay.reexecution import reexecuted_against_chain
from interpreter import ExecutionPlan
from interpreter.replay import ReplayResult


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replay's outcome.

    Attributes:
        run: The run as replayed: its history, and the chain it was compared with
            (the stored one where the database holds it).
        result: Step by step, where the replay and the chain agree and differ.
        stored: The chain compared with is the one the database stores (else the
            one the history carries).
    """

    run: HistoryRun
    result: ReplayResult
    stored: bool = False


async def replay_decoded(
    run: HistoryRun,
    *,
    stored: Sequence[dict[str, Any]] = (),
    plan: ExecutionPlan | None = None,
    workflow_code: bool = True,
    execute: bool = False,
) -> Replayed:
    """Replay a decoded run and compare it with its chain.

    Args:
        run: The run as its history records it.
        stored: Its audit chain as the database stores it; empty compares with the
            chain the history carries.
        plan: Another plan version to replay on (what-if); by default the run's own.
        workflow_code: Also report where Temporal's Replayer could not reproduce the
            history, or where today's code computes a carried entry differently.
        execute: Also re-execute the workflow code in an isolated time-skipping
            server (on the run's own plan only).

    Raises:
        DocumentError: the history's plan does not parse, or the stored chain starts
            where no recorded state does.
    """
    own_input = run.run_input
    if stored:
        run = with_stored_chain(run, list(stored))
    result = replay_run(run, plan, workflow_code=workflow_code)
    if execute and plan is None:
        result = await reexecuted_against_chain(run, result, own_input)
    return Replayed(run, result, stored=bool(stored))


async def replay_from_server(
    client: Client,
    audit: AuditStore,
    run_id: str,
    *,
    plan: ExecutionPlan | None = None,
    workflow_code: bool = True,
    execute: bool = False,
) -> Replayed:
    """``replay_decoded`` on run ``run_id``'s history from the server, compared with
    its chain as ``audit`` stores it.

    Raises:
        EngineError: no such run on the server.
        DocumentError: the history is malformed or of another workflow type.
    """
    history = await fetch_history(client, run_id)
    run = await decode_history(history, source=f"run {run_id}")
    stored = await stored_chain(audit, run_id)
    return await replay_decoded(
        run, stored=stored, plan=plan, workflow_code=workflow_code, execute=execute
    )
