"""Shared helpers for the pure interpreter tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from interpreter import ContentRegistry, ExecutionPlan, PlanMetadata, parse_plan, steps

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str) -> ExecutionPlan:
    path = ROOT / "plans" / name
    return parse_plan(yaml.safe_load(path.read_text()), source=str(path))


def sales_plan() -> ExecutionPlan:
    return load_example("sales-sequence.yaml")


SALES_REGISTRY = ContentRegistry(
    email_templates=frozenset({"tmpl_intro", "tmpl_warm_follow_up", "tmpl_cold_follow_up"}),
    voice_scripts=frozenset({"script_follow_up"}),
    voice_messages=frozenset({"vm_follow_up"}),
)


META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")


def branch_plan(when: str, *, plan_id: str = "p", name: str = "P") -> ExecutionPlan:
    """A branch on ``when``: to the end ``yes`` when it holds, else to the end ``no``."""
    return ExecutionPlan(
        id=plan_id,
        version=1,
        name=name,
        metadata=META,
        steps=(
            steps.branch(
                id="check",
                conditions=[{"when": when, "goto": "yes"}, {"when": "default", "goto": "no"}],
            ),
            steps.end(id="yes", outcome="yes"),
            steps.end(id="no", outcome="no"),
        ),
    )
