"""A run whose conditions evaluate on Google's CEL (``MachineConfig.google_cel``): the
branch taken, the start entry naming the implementation, the left-to-right rule kept."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    Event,
    ExecutionPlan,
    MachineConfig,
    PlanMetadata,
    Status,
    ensure_valid,
    simulate,
    steps,
)
from interpreter.cel_env import CEL_IMPLEMENTATION

META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")
GOOGLE = MachineConfig(google_cel=True)
RUST = MachineConfig()
OPENED = (Event("email.opened", 10, "o-1", "e"),)


def _plan(when: str) -> ExecutionPlan:
    """An email ``e``, a day's wait, then a branch on ``when``."""
    return ensure_valid(
        ExecutionPlan(
            id="google",
            version=1,
            name="Google CEL",
            metadata=META,
            steps=(
                steps.send_email(id="e", template_id="tmpl", subject="Hi"),
                steps.wait(id="w", duration={"days": 1}),
                steps.branch(
                    id="check",
                    conditions=[
                        {"when": when, "goto": "yes"},
                        {"when": "default", "goto": "no"},
                    ],
                ),
                steps.end(id="yes", outcome="yes"),
                steps.end(id="no", outcome="no"),
            ),
            transitions=[
                {"from": "e", "to": "w"},
                {"from": "w", "to": "check"},
                {"from": "check", "to": "yes"},
                {"from": "check", "to": "no"},
            ],
        )
    )


def _start(trace: Any) -> dict[str, Any]:
    [entry] = [e for e in trace.entries if e.action == "start"]
    return dict(entry.detail)


@pytest.mark.parametrize(
    ("when", "contact", "events", "google", "rust"),
    [
        # the Rust evaluator counts UTF-8 bytes: a branch on a name's length
        ("size(contact.name) == 3", {"name": "Zoë"}, (), "yes", "no"),
        ('events.hasOpen("e") && size(contact.name) == 3', {"name": "Zoë"}, OPENED, "yes", "no"),
        ('events.hasOpen("e")', {"name": "Zoë"}, OPENED, "yes", "yes"),
        ('run.visits("check") == 1 && contact.tier == "gold"', {"tier": "gold"}, (), "yes", "yes"),
    ],
)
def test_a_run_on_google_cel_branches_by_the_specification(
    when: str, contact: dict[str, Any], events: tuple[Event, ...], google: str, rust: str
) -> None:
    plan = _plan(when)
    on_google = simulate(plan, {"id": "c1", **contact}, events, config=GOOGLE)
    on_rust = simulate(plan, {"id": "c1", **contact}, events, config=RUST)
    assert (on_google.status, on_google.outcome) == (Status.COMPLETED, google)
    assert on_rust.outcome == rust
    assert _start(on_google)["cel"] == CEL_IMPLEMENTATION
    assert "cel" not in _start(on_rust)


def test_a_missing_field_under_and_still_fails_the_run() -> None:
    # Standard CEL's && would absorb the error (error && false is false): DEE's rule
    # that whatever is evaluated and fails fails the run holds on the library too.
    trace = simulate(
        _plan('contact.tier == "gold" && events.hasOpen("e")'), {"id": "c1"}, config=GOOGLE
    )
    assert trace.status == Status.FAILED
    [entry] = [e for e in trace.entries if e.action == "evaluate"]
    assert entry.outcome == "error"
    assert entry.detail["error"] == "missing field contact.tier"


def test_a_condition_too_costly_for_the_runs_data_fails_before_the_library_runs_it() -> None:
    costly = "(vars.L + []).all(a, (vars.L + []).all(b, a + b >= 0))"
    trace = simulate(_plan(costly), {"id": "c1"}, variables={"L": list(range(1000))}, config=GOOGLE)
    assert trace.status == Status.FAILED
    [entry] = [e for e in trace.entries if e.action == "evaluate"]
    assert "estimated" in str(entry.detail["error"])
