"""``dee plan validate --google-cel``: conditions checked on Google's CEL (issue 23)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import dee
from tests.interpreter.helpers import ROOT


def test_every_example_plan_validates_on_the_library() -> None:
    plans = sorted(str(p) for p in (ROOT / "plans").glob("*.yaml"))
    result = dee("plan", "validate", "--google-cel", *plans)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(plans) >= 3


def test_the_switch_decides_which_checker_reads_the_conditions(tmp_path: Path) -> None:
    text = (ROOT / "plans" / "sales-sequence.yaml").read_text()
    old = """'events.hasOpen("intro-email")'"""
    new = """'events.hasOpen("intro-email") && (dyn(contact.score) > 100 || size("Zoë") == 3)'"""
    assert old in text
    plan = tmp_path / "standard.yaml"
    plan.write_text(text.replace(old, new, 1))
    assert dee("plan", "validate", "--google-cel", str(plan)).returncode == 0
    refused = dee("plan", "validate", str(plan))
    assert refused.returncode == 1
    assert "step 'check-response': conditions[1].when: unknown function 'dyn'" in refused.stderr
