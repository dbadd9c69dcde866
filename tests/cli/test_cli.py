"""``dee plan``: exit codes, output formats, and clean errors on bad input."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dee.cli.main import run
from tests.interpreter.helpers import ROOT

SALES = str(ROOT / "plans" / "sales-sequence.yaml")


def dee(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in-process (fast); ``test_the_installed_entry_point`` runs it for real."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.setenv("DEE_TEMPLATES_DIR", str(ROOT / "templates"))
        mp.setenv("COLUMNS", "200")
        try:
            run(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_the_installed_entry_point_exits_cleanly_on_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    env = {**os.environ, "DEE_TEMPLATES_DIR": str(ROOT / "templates")}
    result = subprocess.run(
        [sys.executable, "-m", "dee", "plan", "validate", SALES, str(missing)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {missing}: no such file"
    assert result.stdout.startswith(f"{SALES}: ok")


def test_the_entry_point_flushes_everything_a_command_printed_before_it_exits() -> None:
    # ``main`` leaves with os._exit (no interpreter teardown): what the command wrote
    # into a pipe must all arrive, and the exit status must be the command's.
    plans = sorted(str(p) for p in (ROOT / "plans").glob("*.yaml"))
    env = {**os.environ, "DEE_TEMPLATES_DIR": str(ROOT / "templates"), "COLUMNS": "200"}
    args = ["plan", "validate", *plans]
    result = subprocess.run(
        [sys.executable, "-m", "dee", *args], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == dee(*args).stdout
    assert result.stdout.count(": ok (") == len(plans) >= 3


def test_validate_accepts_every_example_plan() -> None:
    plans = sorted(str(p) for p in (ROOT / "plans").glob("*.yaml"))
    result = dee("plan", "validate", *plans)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(plans) >= 3


def test_validate_lists_every_problem_with_step_and_field(tmp_path: Path) -> None:
    plan = tmp_path / "broken.yaml"
    plan.write_text(
        (ROOT / "plans" / "sales-sequence.yaml")
        .read_text()
        .replace("templateId: tmpl_intro", "templateId: tmpl_missing")
        .replace('callerId: "+15551234567"', 'callerId: "5551234"')
        .replace("{days: 3, hours: 12}", "{days: 0}")
    )
    result = dee("plan", "validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert any("step 'intro-email': templateId:" in line for line in lines)
    assert any("step 'follow-up-call': callerId:" in line for line in lines)
    assert any("step 'wait-for-reply': duration:" in line for line in lines)
    assert all(str(plan) in line for line in lines)
    assert "Traceback" not in result.stderr


def test_simulate_json_has_status_outcome_path_and_trace(tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"type": "email.opened", "stepId": "intro-email", "tick": 60}]))
    result = dee("plan", "simulate", SALES, "--events", str(events), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "COMPLETED" and doc["outcome"] == "followed-up"
    assert doc["path"][3] == "warm-follow-up"
    assert doc["trace"][0] == {
        "tick": 0,
        "stepId": "@run",
        "action": "start",
        "outcome": "started",
        "detail": doc["trace"][0]["detail"],
    }


def test_simulate_with_a_failed_result_and_contact_and_vars(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"cold-follow-up": {"status": "failed", "reason": "bounced"}}))
    contact = tmp_path / "contact.json"
    contact.write_text(json.dumps({"id": "c-9", "first_name": "Ada"}))
    result = dee(
        "plan", "simulate", SALES, "--results", str(results), "--contact", str(contact), "--json"
    )
    doc = json.loads(result.stdout)
    assert doc["status"] == "FAILED"
    assert doc["path"][-1] == "cold-follow-up"
    assert doc["trace"][0]["detail"]["contactId"] == "c-9"


def test_simulate_prints_a_readable_table_without_json() -> None:
    result = dee("plan", "simulate", SALES)
    assert result.returncode == 0
    assert "check-response" in result.stdout and "status: COMPLETED" in result.stdout


@pytest.mark.parametrize(
    ("flag", "content", "expected"),
    [
        ("--events", '[{"type": "email.opened", "tick": -1}]', "events[0].tick"),
        ("--events", '{"type": "email.opened"}', "events must be a JSON list"),
        (
            "--events",
            '[{"type": "x", "tick": 1, "colour": "red"}]',
            "events[0].colour: unknown field",
        ),
        ("--contact", '["not", "an", "object"]', "the contact must be a JSON object"),
        ("--results", '{"no-such-step": {"status": "failed"}}', "no-such-step: no such step"),
        ("--results", '{"intro-email": {"status": "exploded"}}', "intro-email.status"),
        ("--vars", "{not json", "invalid JSON"),
    ],
)
def test_bad_input_files_get_one_clear_line_and_exit_1(
    tmp_path: Path, flag: str, content: str, expected: str
) -> None:
    bad = tmp_path / "input.json"
    bad.write_text(content)
    result = dee("plan", "simulate", SALES, flag, str(bad))
    assert result.returncode == 1
    assert expected in result.stderr and str(bad) in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_malformed_plan_names_the_file_step_and_field(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        (ROOT / "plans" / "notification.yaml").read_text().replace("type: wait", "type: snooze")
    )
    result = dee("plan", "simulate", str(plan))
    assert result.returncode == 1
    assert "step 'wait-for-open': type: type must be one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_templates_directory_is_an_error_unless_opted_out(tmp_path: Path) -> None:
    result = dee("plan", "validate", SALES, "--templates", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "templates directory not found" in result.stderr
    assert dee("plan", "validate", SALES, "--no-registry").returncode == 0


def test_templates_reaching_outside_their_channel_are_refused_naming_file_step_and_template(
    tmp_path: Path,
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "voice" / "script_follow_up.txt.j2").write_text(
        "{% include 'email/tmpl_intro.txt.j2' %}", encoding="utf-8"
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        Path(SALES)
        .read_text()
        .replace('"Introducing {{ product }}"', "\"{% include '../voice/vm_follow_up.txt.j2' %}\"")
    )

    result = dee("plan", "validate", str(plan), "--templates", str(templates))

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{plan}: sales-sequence: step 'intro-email': subject: the subject cannot be used: " in (
        result.stderr
    )
    assert "'../voice/vm_follow_up.txt.j2' is refused: a template name may not contain '..'" in (
        result.stderr
    )
    assert (
        "step 'follow-up-call': scriptId: script 'script_follow_up' cannot be used: "
        "voice/script_follow_up.txt.j2 line 1: 'email/tmpl_intro.txt.j2' is outside voice/"
    ) in result.stderr


def test_schema_is_json_schema_with_the_camel_case_fields() -> None:
    result = dee("plan", "schema")
    schema = json.loads(result.stdout)
    text = json.dumps(schema)
    for name in ("templateId", "callerId", "maxDuration", "replyTo", "createdAt"):
        assert name in text
    assert set(schema["required"]) >= {"id", "version", "name", "steps", "metadata"}


def test_graph_prints_a_mermaid_flowchart() -> None:
    result = dee("plan", "graph", SALES)
    assert result.stdout.startswith("flowchart TD")
    assert "check-response" in result.stdout and "-->|" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "cancel", "run-1"), "Missing option '--reason'"),
        (("plan", "simulate", SALES, "--bogus", "x"), "No such option: --bogus"),
        (("plan", "validate"), "Missing argument"),
    ],
)
def test_usage_errors_print_the_problem_and_exit_2_without_a_traceback(
    args: tuple[str, ...], message: str
) -> None:
    result = dee(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


_NOTIFICATION = (ROOT / "plans" / "notification.yaml").read_text()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "dup.yaml",
            _NOTIFICATION + "steps:\n  - {type: end, id: done, outcome: done}\n",
            "line 33 column 1: duplicate key 'steps' (first at line 11)",
        ),
        (
            "dup.json",
            '{"id": "a",\n "id": "b"}',
            "line 2 column 6: duplicate key 'id' (first at line 1)",
        ),
        (
            "sexagesimal.yaml",
            _NOTIFICATION.replace("days: 1}", "days: 1:30}"),
            "account-notification: step 'wait-for-open': duration.days: Input should be",
        ),
        (
            "yes.yaml",
            _NOTIFICATION.replace("opens: true", "opens: yes"),
            "account-notification: step 'notice': tracking.opens: Input should be",
        ),
        ("deep.yaml", "a: " + "[" * 10_000, "line 1 column 67: nesting deeper than 64 levels"),
        ("deep.json", "[" * 10_000, "line 1 column 65: nesting deeper than 64 levels"),
        (
            "digits.yaml",
            _NOTIFICATION.replace("days: 1}", "days: " + "9" * 5000 + "}"),
            "line 19: steps[1].duration.days: integer of 5000 digits is out of range",
        ),
        ("digits.json", '{"version": ' + "9" * 5000 + "}", "version: integer of 5000 digits"),
        (
            "unsafe.yaml",
            _NOTIFICATION.replace("version: 1", "version: 9007199254740992"),
            "version: integer 9007199254740992 is out of range (at most 2^53-1 in magnitude)",
        ),
        ("unsafe.json", '{"version": 9007199254740992}', "version: integer 9007199254740992"),
        (
            "surrogate.json",
            '{"name": "\\ud800"}',
            "name: string contains a lone surrogate (U+D800)",
        ),
        ("surrogate.yaml", 'name: "\\ud800"', "name: string contains a lone surrogate (U+D800)"),
    ],
)
def test_validate_refuses_a_hostile_plan_in_one_clean_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    plan = tmp_path / name
    plan.write_text(text)
    result = dee("plan", "validate", str(plan))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {plan}: {expected}"), line
