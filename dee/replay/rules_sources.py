"""What a rules what-if reads: the new rules configuration, and each recorded run.

``new_rules`` builds the rules a what-if re-decides sends under: a settings file's
``policies`` section (``dee replay --rules SETTINGS.yaml``), else the deployment's
own, with ``--preset`` names replacing the configured and plan presets as ``dee
policy explain --preset`` does. ``recorded_run`` reads one run: its start input from
its Temporal history (plan snapshot, contact, variables, clock) and its audit chain as
the database stores it (or, where nothing is stored, as the history carries it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client

from activities import contracts as c
from adapters.policy.rules.config import RulesConfig
from adapters.storage.audit import AuditStore
from dee.config import EngineConfig
from dee.documents import read_document
from dee.errors import DocumentError, EngineError
from dee.presets import chosen_presets
from dee.replay.from_audit import stored_chain
from dee.replay.from_history import decode_history, fetch_history, run_input_of
from dee.worker.policy_config import rules_config
from interpreter import ExecutionPlan, PlanError
from interpreter.machine import compiled_snapshot
from interpreter.validation import LEGACY


@dataclass(frozen=True, slots=True)
class NewRules:
    """The rules a what-if re-decides under.

    Attributes:
        config: The compliance configuration (presets, caps, email windows, zone).
        override: ``--preset`` names replacing every configured and plan preset, or
            ``None``: the configured presets and each plan's ``compliance.presets``.
    """

    config: RulesConfig
    override: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A run as recorded, for re-deciding its sends.

    Attributes:
        run_input: The run's start input (tenant, plan snapshot, contact, variables).
        plan: The plan the run ran (its snapshot).
        entries: The audit chain from seq 1.
        origin_ms: The instant of the run's start tick on the workflow's clock (the
            gate is asked at the workflow's "now": ``origin_ms`` plus the ticks since).
    """

    run_input: c.RunInput
    plan: ExecutionPlan
    entries: list[dict[str, Any]]
    origin_ms: int

    def instant_ms(self, tick: int) -> int:
        """The epoch milliseconds at the start of ``tick``."""
        inp = self.run_input
        return self.origin_ms + (tick - inp.start_tick) * inp.tick_interval_ms


def new_rules(
    settings: EngineConfig, rules_file: Path | None, presets: list[str] | None
) -> NewRules:
    """The rules of ``rules_file``'s ``policies`` section (else of ``settings``), with
    ``presets`` replacing the configured ones when given.

    Raises:
        DocumentError: the file is unreadable, has no ``policies`` section, or a value
            in it is invalid (the file and field named).
        EngineError: ``presets`` names an unknown preset.
    """
    override = None if presets is None else chosen_presets(presets)
    if rules_file is None:
        return NewRules(rules_config(settings), override)
    data = read_document(rules_file)
    if not isinstance(data, dict) or not isinstance(data.get("policies"), dict):
        raise DocumentError(
            [f"{rules_file}: policies: --rules reads a settings file's policies section"]
        )
    try:
        config = EngineConfig.model_validate({"policies": data["policies"]})
    except ValidationError as exc:
        raise DocumentError(
            [
                f"{rules_file}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors(include_url=False)
            ]
        ) from None
    try:
        return NewRules(rules_config(config), override)
    except DocumentError as exc:
        raise DocumentError([f"{rules_file}: {line}" for line in exc.lines]) from None


async def recorded_run(client: Client, audit: AuditStore, run_id: str) -> RecordedRun:
    """Run ``run_id`` as recorded: its chain as stored from seq 1, else as its history
    carries it.

    Raises:
        EngineError: the run's chain from seq 1 is neither stored nor in its latest
            history (continued as new, or archived by retention).
        DocumentError: its history is of another workflow or its plan unreadable.
    """
    history = await fetch_history(client, run_id)
    run_input = run_input_of(history, f"run {run_id}")
    stored = await stored_chain(audit, run_id)
    entries: list[dict[str, Any]]
    if stored and stored[0].get("seq") == 1:
        entries = stored
    elif run_input.state is None:  # nothing stored: the history holds the whole run
        entries = (await decode_history(history, source=f"run {run_id}")).entries
    else:
        raise EngineError(
            [
                f"run {run_id}: its audit chain from seq 1 is neither stored nor in its "
                "latest history (it continued as new, or retention archived its head)"
            ]
        )
    try:
        # The run was admitted: its snapshot compiles under the rules of its time.
        compiled = compiled_snapshot(
            run_input.plan, run_input.tick_interval_ms, source=f"run {run_id}", limits=LEGACY
        )
    except PlanError as exc:
        raise DocumentError([str(p) for p in exc.problems]) from None
    # The workflow's own clock (never the calendar origin of a re-execution): the gate
    # was asked at workflow time.
    origin = run_input.origin_epoch_ms
    if origin is None:
        origin = int(history.events[0].event_time.ToMilliseconds())
    return RecordedRun(run_input, compiled.plan, entries, origin)


__all__ = ["NewRules", "RecordedRun", "new_rules", "recorded_run"]
