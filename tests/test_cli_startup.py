"""What every ``dee`` command loads before it does anything.

A command's start-up is paid on each call (the bulk-enrolment benchmark times
``dee start`` end to end). The worker's channel adapters, Temporal's worker and
test server (replay, re-execution) and Alembic (only when a schema is behind) are
imported by the commands that use them, not by all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys

DEFERRED = (
    "alembic",  # adapters.storage.migrations: only when the schema is behind
    "dee.channels",  # dee worker
    "twilio",
    "temporalio.worker",  # dee worker, dee replay
    "temporalio.testing",  # dee replay --execute
    "dee.reexecute",
    "dee.replaying",
)


def test_the_cli_loads_no_worker_replay_or_migration_modules() -> None:
    probe = (
        "import json, sys, dee.cli.main\n"
        f"print(json.dumps([m for m in {list(DEFERRED)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []
