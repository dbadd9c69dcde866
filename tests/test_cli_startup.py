"""What every ``dee`` command loads before it does anything.

A command's start-up is paid on each call (the bulk-enrolment benchmark times
``dee start`` end to end). The worker's channel adapters, Temporal's worker and
test server (replay, re-execution), Alembic (only when a schema is behind) and the
``cel`` package's interactive shell are imported by what uses them, not by every
command; and a command line loads only the CLI module of the command it names.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dee.cli import main
from dee.cli import run as run_cli

DEFERRED = (
    "alembic",  # adapters.storage.migrations: only when the schema is behind
    "dee.channels",  # dee worker
    "twilio",
    "temporalio.worker",  # dee worker, dee replay
    "temporalio.testing",  # dee replay --execute
    "dee.replay.reexecution",
    "dee.replay.flow",
    "dee.replay.what_if",
    "cel.cli",  # the cel package's shell: interpreter.cel_runtime loads only its evaluator
    "prompt_toolkit",
)
CLI_MODULES = ("plan", "run", "runs", "audit", "db", "policy", "serve", "webhooks", "replay")


def _loaded(code: str, names: list[str]) -> list[str]:
    probe = (
        f"import json, sys\n{code}\nprint(json.dumps([m for m in {names!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_cli_loads_no_worker_replay_or_migration_modules() -> None:
    assert _loaded("import dee.cli.main", list(DEFERRED)) == []


def test_a_command_line_loads_only_its_own_cli_module() -> None:
    modules = [f"dee.cli.{name}" for name in CLI_MODULES]
    run_help = (
        "from dee.cli import main\n"
        "try:\n    main.run(['start', '--help'])\n"
        "except SystemExit:\n    pass"
    )

    assert _loaded(run_help, modules) == ["dee.cli.runs"]
    assert _loaded(run_help.replace("'start'", "'plan'"), modules) == ["dee.cli.plan"]
    # No command named (or a typo): the whole CLI, so its help lists everything.
    assert _loaded(run_help.replace("'start', ", ""), modules) == modules


def test_building_a_command_line_twice_registers_each_command_once() -> None:
    for argv in (["run", "--help"], ["run", "--help"], ["--help"]):
        with pytest.raises(SystemExit):
            main.run(argv)
    names = [command.name for command in run_cli.app.registered_commands]

    assert names.count("status") == 1 and "resolve" in names
