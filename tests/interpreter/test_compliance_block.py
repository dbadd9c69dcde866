"""The plan file's ``compliance`` block: its shape, its validation, an old plan's
unchanged hash, and what the machine asks the gate with once a run resolves it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from interpreter import (
    CheckPolicy,
    Command,
    ExecutionPlan,
    PlanError,
    PolicyDecided,
    RunContext,
    RunState,
    SendCompleted,
    Start,
    compile_plan,
    ensure_valid,
    parse_plan,
    step,
)
from interpreter.compliance import unknown_presets
from interpreter.plan_schema import plan_json_schema

from .helpers import ROOT

# The content hashes of the example plans as committed before the compliance block
# existed: a plan that does not use the block keeps its identity (runs, registrations
# and the history corpus name plans by it).
OLD_HASHES = {
    "sales-sequence.yaml": "sha256:"
    "4ba4bf59af6b10939f18f221ccd48b6446dc197311a665aa87fb616d4f95d68a",
    "collections-sequence.yaml": "sha256:"
    "988e1cad6bb75c6f79abb7667c90885a0fe45f08ae4d4830c04fa16f39bb5e7f",
}


def _document(**compliance: Any) -> dict[str, Any]:
    return {
        "id": "debt-call",
        "version": 1,
        "name": "Debt call",
        "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
        "compliance": compliance,
        "steps": [
            {"type": "sendEmail", "id": "mail", "templateId": "t", "subject": "Hello"},
            {
                "type": "sendVoice",
                "id": "call",
                "scriptId": "s",
                "callerId": "+15551234567",
                "maxDuration": {"minutes": 2},
            },
            {"type": "end", "id": "done", "outcome": "called"},
        ],
    }


def _plan(**compliance: Any) -> ExecutionPlan:
    return ensure_valid(parse_plan(_document(**compliance), source="debt-call.yaml"))


def _problems(**compliance: Any) -> list[str]:
    with pytest.raises(PlanError) as info:
        _plan(**compliance)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", sorted(OLD_HASHES))
def test_a_plan_without_the_block_keeps_its_canonical_json_and_hash(name: str) -> None:
    path = ROOT / "plans" / name
    plan = parse_plan(yaml.safe_load(path.read_text()), source=str(path))
    assert plan.compliance is None
    assert b"compliance" not in plan.canonical_json()
    assert plan.content_hash == OLD_HASHES[name]


def test_the_block_is_camel_case_in_files_and_part_of_the_hash() -> None:
    plan = _plan(presets=["regf", "florida"], debtRef="vars.account", subject="Loan 7")
    assert plan.to_document()["compliance"] == {
        "presets": ["regf", "florida"],
        "debtRef": "vars.account",
        "subject": "Loan 7",
    }
    other = _plan(presets=["regf"], debtRef="vars.account", subject="Loan 7")
    assert plan.content_hash != other.content_hash


def test_an_unknown_field_in_the_block_is_refused_with_its_path() -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(_document(presets=["regf"], debtRefs="vars.a"), source="debt-call.yaml")
    assert any("compliance.debtRefs" in str(p) for p in info.value.problems)


@pytest.mark.parametrize(
    ("block", "field", "words"),
    [
        ({"debtRef": "account"}, "compliance.debtRef", "write vars.<name> or contact.<field>"),
        ({"debtRef": "vars."}, "compliance.debtRef", "is not a path into the run"),
        ({"debtRef": "run.account"}, "compliance.debtRef", "is not a path into the run"),
        ({"debtRef": "vars." + "a" * 300}, "compliance.debtRef", "the limit is 200"),
        ({"presets": []}, "compliance.presets", "name at least one preset"),
        ({"presets": ["regf", "regf"]}, "compliance.presets[1]", "named twice"),
        ({"presets": ["Reg F"]}, "compliance.presets[0]", "is not a preset name"),
        ({"subject": "  "}, "compliance.subject", "the subject is empty"),
        ({"subject": "a\nb"}, "compliance.subject", "the subject"),
        ({}, "compliance", "names presets, a debtRef or a subject"),
    ],
)
def test_a_bad_block_is_refused_naming_plan_and_field(
    block: dict[str, Any], field: str, words: str
) -> None:
    problems = _problems(**block)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"debt-call: plan: {field}: ")
    assert words in problems[0]


def test_unknown_preset_names_are_found_against_a_known_set() -> None:
    plan = _plan(presets=["tcpa", "texas", "regf"])
    known = frozenset({"tcpa", "regf"})
    assert unknown_presets(plan, known) == [
        ("compliance.presets[1]", "unknown preset 'texas' (known: regf, tcpa)")
    ]
    assert unknown_presets(_plan(subject="x"), known) == []


def _checks(
    plan: ExecutionPlan, contact: dict[str, Any], variables: dict[str, Any]
) -> list[CheckPolicy]:
    """The policy checks of a run that is allowed every send and sees every send
    delivered, in order."""
    ctx = RunContext(compile_plan(plan), contact, variables)
    s, cmds = step(ctx, RunState(), Start(0))
    found: list[CheckPolicy] = []
    for _ in range(10):
        checks = [c for c in cmds if isinstance(c, CheckPolicy)]
        found += checks
        if not checks:
            return found
        s, cmds = _allow_and_deliver(ctx, s, checks[0])
    raise AssertionError("the run did not end")


def _allow_and_deliver(
    ctx: RunContext, s: RunState, check: CheckPolicy
) -> tuple[RunState, list[Command]]:
    s, _ = step(ctx, s, PolicyDecided(0, check.step_id, "allow"))
    return step(ctx, s, SendCompleted(0, check.step_id, "delivered"))


def test_the_gate_is_asked_with_the_debt_subject_presets_and_caller_id() -> None:
    plan = _plan(presets=["regf"], debtRef="vars.loan.number", subject="Loan")
    mail, call = _checks(plan, {"id": "c-1"}, {"loan": {"number": 4711}})
    assert mail == CheckPolicy(
        "mail", 1, "email", 0, debt_ref="4711", subject="Loan", presets=("regf",)
    )
    assert call == CheckPolicy(
        "call", 1, "voice", 120, "4711", "Loan", ("regf",), caller_id="+15551234567"
    )


def test_a_debt_ref_into_the_contact_resolves_from_the_contact() -> None:
    plan = _plan(debtRef="contact.account")
    mail, _ = _checks(plan, {"id": "c-1", "account": "AC-9"}, {"account": "not this"})
    assert (mail.debt_ref, mail.debt_ref_problem, mail.presets) == ("AC-9", None, ())


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({}, "compliance.debtRef vars.loan: the run has no value there"),
        ({"loan": None}, "compliance.debtRef vars.loan: the value is null, not a string"),
        ({"loan": True}, "the value is bool, not a string or integer"),
        ({"loan": ["a"]}, "the value is list, not a string or integer"),
        ({"loan": " "}, "compliance.debtRef vars.loan: the value is empty"),
        ({"loan": "x" * 201}, "the value is longer than 200"),
    ],
)
def test_a_debt_ref_without_a_usable_value_is_none_with_the_reason(
    variables: dict[str, Any], problem: str
) -> None:
    plan = _plan(presets=["regf"], debtRef="vars.loan")
    mail, call = _checks(plan, {"id": "c-1"}, copy.deepcopy(variables))
    assert mail.debt_ref is None and call.debt_ref is None
    assert mail.debt_ref_problem is not None and problem in mail.debt_ref_problem
    assert call.presets == ("regf",)


def test_a_plan_without_the_block_asks_as_before() -> None:
    plan = _plan(subject="s").model_copy(update={"compliance": None})
    mail, call = _checks(plan, {"id": "c-1"}, {})
    assert mail == CheckPolicy("mail", 1, "email")
    assert call == CheckPolicy("call", 1, "voice", 120, caller_id="+15551234567")


def test_the_schema_accepts_a_good_block_and_refuses_what_validation_refuses() -> None:
    schema = Draft202012Validator(plan_json_schema())
    good = _document(presets=["regf"], debtRef="contact.account.id", subject="Loan")
    assert [e.message for e in schema.iter_errors(good)] == []
    for bad in (
        {"presets": []},
        {"presets": ["regf", "regf"]},
        {"presets": ["Reg F"]},
        {"debtRef": "account"},
        {},
    ):
        assert list(schema.iter_errors(_document(**bad))), bad
