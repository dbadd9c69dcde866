"""DEE's one Temporal workflow, ``PlanRunWorkflow``, which runs any execution plan.

The workflow drives the pure step machine of ``interpreter``: it feeds it every input
(start, timer, policy decision, send result, event, operator action) in history order
and carries out the commands it returns with Temporal timers, activities, signals,
updates, continue-as-new and search-attribute upserts. Every audit entry is written by
an activity before the action it justifies.

Boundary: this package imports the SDK, ``interpreter`` and ``activities.contracts``
(the activity names and payload types) only. It reads no wall clock (time is
``workflow.now()``, which replays), draws no random numbers and does no I/O (enforced
by import-linter and ``tests/test_determinism_guard.py``), so a replay of a recorded
history computes the same decisions and hashes. Workers pass the package through
Temporal's sandbox: it keeps no module state.
"""
