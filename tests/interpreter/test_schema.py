"""``dee plan schema``: a JSON Schema an editor can check plan files with, describing the
stop-on-reply fields and agreeing with the model on the example plans and on mistakes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dee.documents import read_document
from interpreter import PlanError, parse_plan, validate
from interpreter.plan_schema import plan_json_schema

from .helpers import ROOT

SCHEMA = plan_json_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
PLANS = sorted((ROOT / "plans").glob("*.yaml"))


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_every_example_plan_conforms(path: Any) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(read_document(path))]
    assert errors == []


def test_the_new_fields_are_described() -> None:
    props, defs = SCHEMA["properties"], SCHEMA["$defs"]
    assert "first rule that matches ends the run" in props["exitOn"]["description"]
    assert "IANA time zone" in props["defaultTimezone"]["description"]
    assert (
        "Exactly one of duration and until"
        in defs["WaitStep"]["properties"]["until"]["description"]
    )
    assert (
        "before the step counts" in defs["WaitForEventStep"]["properties"]["until"]["description"]
    )
    assert "next opening" in defs["SendEmailStep"]["properties"]["window"]["description"]
    assert "24:00" in defs["SendWindow"]["properties"]["to"]["description"]
    assert defs["ExitRule"]["description"] and defs["WaitForEventStep"]["description"]


def _await_plan() -> dict[str, Any]:
    doc = read_document(ROOT / "plans" / "sales-await-reply.yaml")
    assert isinstance(doc, dict)
    return doc


def _step(doc: dict[str, Any], step_id: str) -> dict[str, Any]:
    (step,) = [s for s in doc["steps"] if s["id"] == step_id]
    return step  # type: ignore[no-any-return]


def _no_to(doc: dict[str, Any]) -> None:
    del _step(doc, "intro-email")["window"]["to"]


def _both(doc: dict[str, Any]) -> None:
    _step(doc, "next-morning")["duration"] = {"days": 1}


def _neither(doc: dict[str, Any]) -> None:
    del _step(doc, "next-morning")["until"]


def _bad_time(doc: dict[str, Any]) -> None:
    _step(doc, "next-morning")["until"]["time"] = "9:30"


def _bad_day(doc: dict[str, Any]) -> None:
    _step(doc, "intro-email")["window"]["days"] = ["monday"]


def _no_days(doc: dict[str, Any]) -> None:
    _step(doc, "next-morning")["until"]["days"] = []


def _day_twice(doc: dict[str, Any]) -> None:
    _step(doc, "intro-email")["window"]["days"] = ["mon", "mon"]


def _no_timeout(doc: dict[str, Any]) -> None:
    del _step(doc, "await-click")["timeout"]


def _empty_rule(doc: dict[str, Any]) -> None:
    doc["exitOn"].append({"outcome": "x"})


def _unknown(doc: dict[str, Any]) -> None:
    doc["exitOn"][0]["stepId"] = "intro-email"


def _bad_zone(doc: dict[str, Any]) -> None:
    doc["defaultTimezone"] = "../../etc/passwd"


@pytest.mark.parametrize(
    "mutate",
    [
        _no_to,
        _both,
        _neither,
        _bad_time,
        _bad_day,
        _no_days,
        _day_twice,
        _no_timeout,
        _empty_rule,
        _unknown,
        _bad_zone,
    ],
)
def test_mistakes_in_the_new_fields_are_rejected(mutate: Any) -> None:
    doc = copy.deepcopy(_await_plan())
    assert VALIDATOR.is_valid(doc)
    mutate(doc)
    assert not VALIDATOR.is_valid(doc)
    try:  # and the model agrees: the schema never refuses a plan the engine would run
        problems = validate(parse_plan(doc, source="mutated"))
    except PlanError as exc:
        problems = list(exc.problems)
    assert problems
