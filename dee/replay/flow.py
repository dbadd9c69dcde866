"""The one replay flow ``Engine.replay`` and ``dee replay`` share.

A run is decoded from its Temporal history (fetched from the server, or an exported
file), compared with the audit chain as the database stores it where the database
holds one (else with the chain the history carries), replayed by the pure
interpreter on its own plan or another version and, on request, checked against
today's workflow code: Temporal's Replayer on the history, and a re-execution in an
isolated time-skipping server. Given the trusted public keys, the stored chain is also
checked against the run's signed checkpoints: a chain that was cut short, extended or
rewritten with recomputed hashes is a diff, never "identical" (a history can be made
to agree with a forged table: the signature cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from adapters.storage.audit import AuditStore
from adapters.storage.checkpoint_format import VerifyKeys
from adapters.storage.errors import UnknownRun
from dee.replay.comparison import replay_run
from dee.replay.from_audit import stored_chain, with_stored_chain
from dee.replay.from_history import HistoryRun, decode_history, fetch_history
from dee.replay.reexecution import reexecuted_against_chain
from interpreter import RUN_SCOPE, ExecutionPlan
from interpreter.replay import Diff, ReplayResult


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
    keys: VerifyKeys | None = None,
) -> Replayed:
    """``replay_decoded`` on run ``run_id``'s history from the server, compared with
    its chain as ``audit`` stores it and, with ``keys``, with its signed checkpoints
    (each problem is a diff of field ``audit.checkpoint`` at ``@run``).

    Raises:
        EngineError: no such run on the server.
        DocumentError: the history is malformed or of another workflow type.
    """
    history = await fetch_history(client, run_id)
    run = await decode_history(history, source=f"run {run_id}")
    stored = await stored_chain(audit, run_id)
    replayed = await replay_decoded(
        run, stored=stored, plan=plan, workflow_code=workflow_code, execute=execute
    )
    if keys is None:
        return replayed
    return await _with_checkpoints(replayed, audit, run_id, keys)


async def _with_checkpoints(
    replayed: Replayed, audit: AuditStore, run_id: str, keys: VerifyKeys
) -> Replayed:
    try:
        verdict = await audit.verify(run_id, keys=keys)
    except UnknownRun:  # nothing stored, nothing signed: a run of another deployment
        return replayed
    if not verdict.problems:
        return replayed
    result = replayed.result
    extra = tuple(
        Diff(RUN_SCOPE, "audit.checkpoint", "the signed chain", p.describe())
        for p in verdict.problems
    )
    changed = ReplayResult(False, result.steps, (*result.diffs, *extra), result.notes)
    return Replayed(replayed.run, changed, stored=replayed.stored)
