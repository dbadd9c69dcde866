"""``dee policy explain`` end to end: the ``dee`` process against a real SQLite database,
consent recorded and a plan registered through the CLI, the answer read as a user
reads it (``--json``, and the table)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compliance.explain_cli import PLAN  # the collections plan, one definition

ROOT = Path(__file__).resolve().parents[2]
# A New York number and zone; 2026-01-05 is a Monday in EST (UTC-5): 08:00 local = 13:00Z.
CONTACT = {
    "id": "c-1",
    "phone": "+12125550123",
    "timezone": "America/New_York",
    "account": "L-7",
}
SETTINGS = {"policies": {"hours": {"voice": None}}}
GRANT = (
    "consent grant c-1 --channel voice --source web-form --wording v1 --tenant default "
    "--at 2025-12-01T00:00:00Z"
)
REGF = ["regf.calling_window", "regf.attempts_7_in_7", "regf.after_conversation"]
GATE_AFTER = ["general.channel_cap", "contact_cap", "daily_limit", "budget"]


class Dee:
    """``dee`` in a fresh process, with settings and a SQLite database in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "dee.yaml").write_text(yaml.safe_dump(SETTINGS))
        (folder / "c.json").write_text(json.dumps(CONTACT))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
        env |= {
            "DEE_CONFIG": str(folder / "dee.yaml"),
            "DEE_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/dee.db",
            "DEE_DATA_DIR": str(folder / "data"),
            "PYTHONPATH": str(ROOT),
        }
        self.env = env

    def __call__(self, command: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "dee", *shlex.split(command)],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.folder,
            check=False,
            timeout=120,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def explain(self, args: str) -> dict[str, Any]:
        result = self(f"policy explain --contact c.json --channel voice --json {args}")
        assert result.returncode == 0, result.stderr
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def history(self, *attempts: tuple[str, str | None, str | None]) -> str:
        """A history file of voice attempts ``(at, outcome, debtRef)``."""
        rows = [{"channel": "voice", "at": at, "outcome": o, "debtRef": d} for at, o, d in attempts]
        (self.folder / "h.json").write_text(json.dumps(rows))
        return "h.json"


@pytest.fixture
def dee(tmp_path: Path) -> Dee:
    return Dee(tmp_path)


def _rules(answer: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {line["rule"]: (line["verdict"], line["reason"]) for line in answer["rules"]}


def test_consent_from_the_database_and_the_regf_window_at_its_edge(dee: Dee) -> None:
    at = "--at 2026-01-05T13:00:00Z --preset regf"
    denied = dee.explain(at)
    assert (denied["decision"], denied["policy"]) == ("deny", "consent")

    granted = dee(GRANT)
    assert granted.returncode == 0, granted.stderr
    early = dee.explain("--at 2026-01-05T12:59:00Z --preset regf")
    on_time = dee.explain(at)

    assert set(early) == {"decision", "until", "policy", "reason", "rules", "rulesVersion"}
    assert (early["decision"], early["until"], early["policy"]) == (
        "defer",
        "2026-01-05T13:00:00+00:00",
        "compliance",
    )
    assert early["reason"].startswith("regf.calling_window: ")
    assert [line["rule"] for line in early["rules"]] == [
        "suppression", "consent", "hours", *REGF, *GATE_AFTER,
    ]  # fmt: skip
    assert _rules(early)["regf.calling_window"][0] == "defer"
    assert (on_time["decision"], on_time["until"], on_time["policy"]) == ("allow", None, None)
    assert on_time["rulesVersion"] == early["rulesVersion"] != ""


def test_the_seventh_and_eighth_call_about_a_debt_from_a_history_file(dee: Dee) -> None:
    assert dee(GRANT).returncode == 0
    days = [f"2026-01-0{d}T15:00:00Z" for d in range(1, 5)] + [
        "2026-01-04T16:00:00Z",
        "2026-01-04T17:00:00Z",
        "2026-01-04T18:00:00Z",
    ]
    at = "--at 2026-01-05T15:00:00Z --preset regf --debt-ref L-7"

    six = dee.history(*((day, "no_answer", "L-7") for day in days[:6]))
    seventh = dee.explain(f"{at} --history {six}")
    seven = dee.history(*((day, "no_answer", "L-7") for day in days))
    eighth = dee.explain(f"{at} --history {seven}")
    other_debt = dee.explain(
        f"--at 2026-01-05T15:00:00Z --preset regf --debt-ref L-8 --history {seven}"
    )

    assert _rules(seventh)["regf.attempts_7_in_7"][0] == "allow"
    assert _rules(eighth)["regf.attempts_7_in_7"][0] == "defer"
    assert (eighth["decision"], eighth["policy"]) == ("defer", "compliance")
    assert _rules(other_debt)["regf.attempts_7_in_7"][0] == "allow"


def test_a_stored_plan_names_the_presets_and_the_debt_from_the_contact(dee: Dee) -> None:
    assert dee(GRANT).returncode == 0
    (dee.folder / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    registered = dee("plan register plan.yaml --no-registry")
    assert registered.returncode == 0, registered.stderr
    conversation = dee.history(("2026-01-01T15:00:00Z", "answered", "L-7"))

    by_plan = dee.explain(f"--at 2026-01-05T15:00:00Z --plan collect --history {conversation}")
    other_debt = dee.explain(
        f"--at 2026-01-05T15:00:00Z --plan collect --history {conversation} --debt-ref L-8"
    )
    no_plan = dee.explain(f"--at 2026-01-05T15:00:00Z --history {conversation}")

    # A conversation about the plan's debt (contact.account) 4 days ago: no call for 7.
    assert by_plan["decision"] != "allow" and by_plan["policy"] == "compliance"
    assert by_plan["reason"].startswith("regf.after_conversation: ")
    assert _rules(other_debt)["regf.after_conversation"][0] == "allow"
    assert not any(rule.startswith("regf.") for rule in _rules(no_plan))


def test_without_json_the_answer_is_a_table(dee: Dee) -> None:
    assert dee(GRANT).returncode == 0
    result = dee(
        "policy explain --contact c.json --channel voice --at 2026-01-05T12:59:00Z --preset tcpa"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "decision: defer until 2026-01-05T13:00:00+00:00"
    assert lines[1].startswith("decided by: compliance: tcpa.calling_window: ")
    rows = {line.split()[0]: line.split()[1] for line in lines[3:] if line and ":" not in line[:8]}
    assert rows["tcpa.calling_window"] == "defer"
    assert rows["suppression"] == rows["budget"] == "allow"
    assert lines[-1].startswith("rules version: 2026-")
