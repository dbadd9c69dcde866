"""``dee consent``, ``dee suppress``, ``dee budget`` run as a user would (a subprocess)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.policy import PolicyAdmin, PolicyGate
from adapters.storage import Database
from tests.integration.inprocess import dee_in_process

from .helpers import send

ROOT = Path(__file__).resolve().parents[3]


def dee(env: Mapping[str, str], cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    """Run ``dee <command>`` (split like a shell would); a traceback is always a failure."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.policy.cli_entry", *shlex.split(command)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


async def test_consent_commands_record_what_the_gate_reads(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    gate = PolicyGate(database)

    granted = dee(
        cli_env,
        tmp_path,
        "consent grant c1 --channel voice --source web-form --wording v3 --tenant acme "
        "--at 2025-05-01T12:00:00Z",
    )
    allowed = await gate.evaluate(send(channel="voice"))
    revoked = dee(
        cli_env,
        tmp_path,
        "consent revoke c1 --channel voice --source sms-stop --tenant acme "
        "--at 2025-05-02T12:00:00+02:00",
    )
    denied = await gate.evaluate(send(channel="voice"))

    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == (
        "consent granted: tenant acme, contact c1, voice (source web-form, wording v3) "
        "at 2025-05-01T12:00:00+00:00"
    )
    assert allowed.decision == "allow"
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == (
        "consent revoked: tenant acme, contact c1, voice (source sms-stop) "
        "at 2025-05-02T10:00:00+00:00"
    )
    assert (denied.decision, denied.policy) == ("deny", "consent")


async def test_suppress_add_list_remove(
    database: Database, cli_env: Mapping[str, str], tmp_path: Path
) -> None:
    added = dee(
        cli_env,
        tmp_path,
        "suppress add Ann@Example.com --reason complaint --channel email --source fbl "
        "--tenant acme",
    )
    plan = dee(
        cli_env,
        tmp_path,
        "suppress add c7 --reason 'not this one' --plan p1 --expires 2030-01-01T00:00:00Z "
        "--tenant acme",
    )
    listed = dee(cli_env, tmp_path, "suppress list --tenant acme --json")
    text = dee(cli_env, tmp_path, "suppress list --tenant acme")
    gate_says = await PolicyGate(database).evaluate(send())
    remove = "suppress remove ann@example.com --channel email --tenant acme"
    removed = dee(cli_env, tmp_path, remove)
    again = dee(cli_env, tmp_path, remove)

    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "suppressed ann@example.com (channel email) for tenant acme"
    assert plan.stdout.strip() == (
        "suppressed c7 (plan p1) for tenant acme until 2030-01-01T00:00:00+00:00"
    )
    rows = json.loads(listed.stdout)
    assert [(r["scope"], r["scopeKey"], r["contactKey"], r["source"]) for r in rows] == [
        ("channel", "email", "ann@example.com", "fbl"),
        ("plan", "p1", "c7", "operator"),
    ]
    assert rows[1]["expiresAt"] == "2030-01-01T00:00:00+00:00"
    assert "ann@example.com  channel email  complaint (source fbl)" in text.stdout
    assert (gate_says.decision, gate_says.policy) == ("deny", "suppression")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == (
        "removed suppression of ann@example.com (channel email) for tenant acme"
    )
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: tenant acme: ann@example.com is not suppressed (channel email)"
    )


async def test_budget_set(admin: PolicyAdmin, cli_env: Mapping[str, str], tmp_path: Path) -> None:
    result = dee(
        cli_env,
        tmp_path,
        "budget set default --from 2025-06-01 --to 2025-06-30 --limit 250.50 --currency eur "
        "--tenant acme",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "budget default of tenant acme: 2025-06-01 to 2025-06-30, limit 250.5 EUR "
        "(reserved 0, spent 0)"
    )
    stored = await admin.get_budget("acme", "default", date(2025, 6, 15))
    assert stored is not None and stored.limit == Decimal("250.5")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "consent grant c1 --channel sms --source form --wording v1",
            "error: channel: 'sms' is not one of email, voice",
        ),
        (
            "consent revoke c1 --channel email --source form --at yesterday",
            "error: --at: 'yesterday' is not an ISO 8601 date-time",
        ),
        (
            "consent revoke c1 --channel email --source form --at 2025-01-01T00:00:00",
            "error: --at: '2025-01-01T00:00:00' needs an offset, e.g. 2025-01-31T09:00:00Z",
        ),
        (
            "suppress add c1 --reason r --channel email --plan p1",
            "error: give --channel or --plan, not both (one suppression has one scope)",
        ),
        (
            "budget set b --from 2025-06-01 --to 2025-05-01 --limit 1",
            "error: period_end: 2025-05-01 is before period_start 2025-06-01",
        ),
        (
            "budget set b --from 2025-06-01 --to 2025-06-30 --limit lots",
            "error: --limit: 'lots' is not a decimal amount",
        ),
        (
            "budget set b --from June --to 2025-06-30 --limit 1",
            "error: --from: 'June' is not a date (YYYY-MM-DD)",
        ),
        (
            "suppress list --scope team",
            "error: scope: 'team' is not one of global, channel, plan",
        ),
        (  # one suppression names one mailbox: a list is refused, never half-stored
            "suppress add 'victim@example.com, other@example.com' --reason r",
            "error: contact_key: 'victim@example.com, other@example.com' is a list of "
            "addresses (',' or ';'), not exactly one mailbox",
        ),
    ],
)
def test_bad_input_exits_1_with_one_error_line(
    cli_env: Mapping[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    message: str,
) -> None:
    # In-process: each case fails before the database; the tests above run the real script.
    result = dee_in_process(monkeypatch, cli_env, tmp_path, shlex.split(command))

    assert result.returncode == 1
    assert result.stderr.strip() == message
