"""Mutated plans, conditions, templates, contacts, events and suppressed addresses: each
is accepted or refused with its layer's typed error, within the cap (issue 18)."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from bench.fuzzing.isolation import Isolated
from bench.fuzzing.strategies import STRATEGIES

from .helpers import bounded


@bounded(40)
@given(case=STRATEGIES["plan"])
def test_a_mutated_plan_file_is_run_or_refused_naming_the_problem(
    isolated: Isolated, case: dict[str, Any]
) -> None:
    verdict = isolated.run("plan", case)
    assert verdict.ok, verdict


@bounded(30)
@given(case=STRATEGIES["cel"])
def test_a_hostile_condition_is_run_or_refused(isolated: Isolated, case: dict[str, Any]) -> None:
    verdict = isolated.run("cel", case)
    assert verdict.ok, verdict


@bounded(25)
@given(case=STRATEGIES["template"])
def test_a_hostile_template_renders_or_fails_as_a_template_error(
    isolated: Isolated, case: dict[str, Any]
) -> None:
    verdict = isolated.run("template", case)
    assert verdict.ok, verdict


@bounded(30)
@given(case=STRATEGIES["contact"])
def test_a_mutated_contact_and_variables_start_or_are_refused(
    isolated: Isolated, case: dict[str, Any]
) -> None:
    verdict = isolated.run("contact", case)
    assert verdict.ok, verdict


@bounded(30)
@given(case=STRATEGIES["event"])
def test_mutated_events_are_taken_or_refused(isolated: Isolated, case: dict[str, Any]) -> None:
    verdict = isolated.run("event", case)
    assert verdict.ok, verdict


@bounded(25)
@given(case=STRATEGIES["suppression"])
def test_a_suppressed_mailbox_or_number_in_another_spelling_is_never_allowed(
    isolated: Isolated, case: dict[str, Any]
) -> None:
    verdict = isolated.run("suppression", case)
    assert verdict.ok, verdict
