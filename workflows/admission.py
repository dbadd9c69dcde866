"""What a start input must be before ``PlanRunWorkflow`` runs it.

A run can be started by anyone with a Temporal client (``temporal workflow start --type
PlanRunWorkflow``), not only by ``Engine``. A start the engine would have refused must
fail at once, with the reason as the execution's failure, never as a workflow task
that fails and is retried forever: an input that does not decode, a workflow id that
is not the input's run id, a plan snapshot that does not validate or does not hash to
the input's ``planHash``. (Whether the snapshot is the *stored* plan of its id and
version is the bookkeeper's check, at the run's first write: ``START_REFUSALS``.)

Since ``START_LIMITS`` (issue 18) a start must also carry values within
``interpreter.limits`` (run id, tenant, contact id, the names of contact fields and
variables) and a plan that passes the hardened validation (``ADMISSION``). Runs
admitted before it are replayed under the old rules: the patch is consulted only when
the two rule sets decide a start differently, so a start both accept records no
marker and costs no history event.

Since ``GOOGLE_CEL`` (issue 23) a start that names no CEL implementation is evaluated
on Google's CEL; a history recorded before replays on the old evaluator. The answer is
resolved into the admitted input's ``cel``, which the plan is validated and compiled
for, the step machine evaluates with and a continue-as-new carries on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from temporalio import workflow
from temporalio.converter import value_to_type
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from interpreter import PlanError
    from interpreter.cel_branch import LEGACY_CEL, on_google_cel
    from interpreter.cel_env import CEL_IMPLEMENTATION
    from interpreter.compiled import CompiledPlan
    from interpreter.limits import start_problems
    from interpreter.machine import compiled_snapshot
    from interpreter.validation import ADMISSION, LEGACY
    from workflows.patches import GOOGLE_CEL, REFUSED_EVENT

INPUT_REJECTED = "InputRejected"
START_LIMITS = "start-limits-and-send-loops"


def rejected(message: str, kind: str = INPUT_REJECTED) -> ApplicationError:
    """The failure that ends a refused start (non-retryable: nothing would change)."""
    return ApplicationError(f"start refused: {message}", type=kind, non_retryable=True)


def on_google_cel_today() -> bool:
    """Whether a start that names no CEL implementation runs on Google's CEL: yes for a
    new run (recording ``GOOGLE_CEL``), no on the replay of a history recorded before."""
    return workflow.patched(GOOGLE_CEL)


def admitted(
    raw: Any, workflow_id: str, google_cel_today: Callable[[], bool] = on_google_cel_today
) -> tuple[c.RunInput, CompiledPlan]:
    """The decoded input, its ``cel`` resolved (``google_cel_today`` asked only when it
    names none), and its plan compiled for that evaluator; raises ``rejected(...)``
    otherwise."""
    if isinstance(raw, c.RunInput):
        inp = raw
    else:
        try:
            inp = value_to_type(c.RunInput, raw)
        except Exception as err:  # the converter raises several kinds; all mean malformed
            cause = f"{err}: {err.__cause__}" if err.__cause__ else str(err)
            raise rejected(f"the input is not a PlanRunWorkflow input ({cause})") from None
    if inp.run_id != workflow_id:
        raise rejected(f"the workflow id {workflow_id!r} is not the input's runId {inp.run_id!r}")
    values = start_problems(
        run_id=inp.run_id, tenant=inp.tenant, contact=inp.contact, variables=inp.variables
    )
    if values and workflow.patched(START_LIMITS):
        raise rejected("; ".join(values))
    if inp.cel is None:  # a new start (or one before the flip): today's evaluator
        inp = replace(inp, cel=CEL_IMPLEMENTATION if google_cel_today() else LEGACY_CEL)
    compiled = _compiled(inp)
    if compiled.content_hash != inp.plan_hash:
        raise ApplicationError(  # the message and type runs before this check recorded
            f"plan snapshot hash {compiled.content_hash} does not match {inp.plan_hash}",
            type="PlanError",
            non_retryable=True,
        )
    return inp, compiled


def _compiled(inp: c.RunInput) -> CompiledPlan:
    """The plan under the hardened rules, or the old ones for a run admitted before;
    validated and compiled for the evaluator ``inp.cel`` names (the cache key of
    ``compiled_snapshot`` holds it: ``Limits.google_cel``)."""
    google = on_google_cel(inp.cel)
    new, new_error = _attempt(inp, hardened=True, google_cel=google)
    old, old_error = _attempt(inp, hardened=False, google_cel=google)
    if (new is None) != (old is None) and not workflow.patched(START_LIMITS):
        new, new_error = old, old_error
    if new is None:
        assert new_error is not None
        raise rejected("the plan is invalid: " + "; ".join(map(str, new_error.problems)))
    return new


def _attempt(
    inp: c.RunInput, *, hardened: bool, google_cel: bool
) -> tuple[CompiledPlan | None, PlanError | None]:
    try:
        # Validation loads phonenumbers' region tables on first use (a module import and
        # a lock): pure data, the same on every worker, so safe outside the sandbox's
        # restrictions; the result is cached per plan text (``compiled_snapshot``).
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            compiled = compiled_snapshot(
                inp.plan,
                inp.tick_interval_ms,
                source=f"run {inp.run_id}",
                # Conditions validated by the evaluator the run will use.
                limits=replace(ADMISSION if hardened else LEGACY, google_cel=google_cel),
            )
    except PlanError as err:
        return None, err
    return compiled, None


def refusal(err: ActivityError) -> ApplicationError | None:
    """The start refusal an activity reported (the stored plan differs, or is missing)."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in c.START_REFUSALS:
        return rejected(cause.message, cause.type or INPUT_REJECTED)
    return None


def raw_run_id(raw: Any) -> str:
    """The run id a start input names (before ``DURABLE``, the workflow id was not checked)."""
    if isinstance(raw, c.RunInput):
        return raw.run_id
    return str(raw.get("run_id", "")) if isinstance(raw, dict) else ""


def refused_event(event: c.EventSignal, problems: list[str]) -> c.EventSignal:
    """Since ``EVENT_LIMITS``: what a signalled event past the limits is recorded as: a
    type no condition can ask for by mistake (``hasEvent`` reads plan-declared types), no
    step, an id derived from the original (so a re-delivery is still a duplicate) and the
    reasons."""
    digest = hashlib.sha256(repr(event.id).encode("utf-8", "backslashreplace")).hexdigest()
    return c.EventSignal(
        f"refused-{digest[:40]}", REFUSED_EVENT, None, {"refused": "; ".join(problems)[:1000]}
    )


__all__ = [
    "INPUT_REJECTED",
    "START_LIMITS",
    "admitted",
    "on_google_cel_today",
    "raw_run_id",
    "refusal",
    "refused_event",
    "rejected",
]
