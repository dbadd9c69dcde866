"""Shared helpers for the pure interpreter tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from interpreter import ContentRegistry, ExecutionPlan, parse_plan

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
