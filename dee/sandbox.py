"""The workflow sandbox DEE's workers run ``PlanRunWorkflow`` in.

Temporal's sandbox re-imports a workflow's module for every run — compiles and
executes its source — so that module-level state cannot leak between runs. The
profile of scenario 1 (``bench/profile.py``) showed that import as the largest part
of what a run cost the worker beyond its own steps. DEE's ``workflows`` package
keeps no module state (constants only), so it is passed through: imported once per
process, like ``interpreter`` and ``activities.contracts`` already are.

What the sandbox would have refused at run time inside ``workflows`` — the clock,
randomness — is refused before anything runs instead: the import-linter contract
forbids ``random``, ``uuid``, ``time``, ``os`` and the I/O libraries there, and
``tests/test_determinism_guard.py`` refuses clock reads through ``datetime``. The
sandbox still guards the builtins (``open`` and the like) and every module the
workflow code does not pass through.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("workflows",)


def workflow_runner(*also: str) -> SandboxedWorkflowRunner:
    """The sandbox with DEE's workflow modules (and ``also``) passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH, *also)
    return SandboxedWorkflowRunner(restrictions=restrictions)
