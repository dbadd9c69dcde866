"""``dee plan validate`` and ``dee plan simulate``: conditions on Google's CEL by
default since issue 23; ``--legacy-cel`` checks and runs them on the old checker and
evaluator (for plans of runs recorded before)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.test_cli import dee
from tests.interpreter.helpers import ROOT, branch_plan


def test_every_example_plan_validates_on_the_library_and_on_the_old_checker() -> None:
    plans = sorted(str(p) for p in (ROOT / "plans").glob("*.yaml"))
    for switch in ((), ("--google-cel",), ("--legacy-cel",)):
        result = dee("plan", "validate", *switch, *plans)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count(": ok (") == len(plans) >= 3


def test_the_switch_decides_which_checker_reads_the_conditions(tmp_path: Path) -> None:
    text = (ROOT / "plans" / "sales-sequence.yaml").read_text()
    old = """'events.hasOpen("intro-email")'"""
    new = """'events.hasOpen("intro-email") && (dyn(contact.score) > 100 || size("Zoë") == 3)'"""
    assert old in text
    plan = tmp_path / "standard.yaml"
    plan.write_text(text.replace(old, new, 1))
    assert dee("plan", "validate", str(plan)).returncode == 0  # the default: Google's CEL
    assert dee("plan", "validate", "--google-cel", str(plan)).returncode == 0
    refused = dee("plan", "validate", "--legacy-cel", str(plan))
    assert refused.returncode == 1
    assert "step 'check-response': conditions[1].when: unknown function 'dyn'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_default_refusal_is_the_librarys_with_its_caret(tmp_path: Path) -> None:
    plan = tmp_path / "broken.json"
    plan.write_text(json.dumps(branch_plan("size(contact.name) ==").to_document()))
    refused = dee("plan", "validate", "--no-registry", str(plan))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "step 'check': conditions[0].when: does not compile: 1:" in refused.stderr
    assert "| size(contact.name) ==" in refused.stderr and "^" in refused.stderr


def test_simulate_evaluates_on_google_cel_unless_told_the_old_evaluator(tmp_path: Path) -> None:
    plan, contact = tmp_path / "zoe.yaml", tmp_path / "contact.json"
    plan.write_text(yaml.safe_dump(branch_plan("size(contact.name) == 3").to_document()))
    contact.write_text(json.dumps({"id": "c-1", "timezone": "UTC", "name": "Zoë"}))

    def ended(*switch: str) -> str:
        args = ("plan", "simulate", str(plan), "--contact", str(contact), "--json")
        result = dee(*args, "--no-registry", *switch)
        assert result.returncode == 0, result.stderr
        outcome: str = json.loads(result.stdout)["outcome"]
        return outcome

    assert ended() == ended("--google-cel") == "yes"  # 3 code points
    assert ended("--legacy-cel") == "no"  # 4 UTF-8 bytes on the old evaluator


def test_the_help_names_both_evaluators() -> None:
    for command in ("validate", "simulate"):
        shown = dee("plan", command, "--help").stdout
        assert "--google-cel" in shown and "--legacy-cel" in shown, shown
