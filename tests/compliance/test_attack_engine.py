"""Attacks on the rule engine: instants at the calendar's edge never raise, and every
rule set that defers names an instant at which every rule allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.engine import evaluate
from adapters.policy.rules.model import Attempt

from .inputs import AT, location, send

FAR = datetime(9999, 12, 31, 12, 0, tzinfo=UTC)
ALL = RulesConfig(presets=("regf", "florida", "oklahoma", "tcpa", "state-holidays"))


def test_an_attempt_recorded_at_the_end_of_the_calendar_denies_instead_of_raising() -> None:
    # A prior dialer's row dated 9999-12-31 (a typo, or hostile): the cap's deferral
    # would be 7 days later, past datetime.max.
    rules = ALL.rule_set("acme", "collect-v1")
    attempts = [Attempt("voice", FAR, debt_ref="D1") for _ in range(7)]

    decision = evaluate(rules.rules, send(*attempts), rules.version)

    assert decision.decision == "deny"
    assert decision.rule == "regf.attempts_7_in_7"
    assert decision.reason is not None and "beyond the calendar's range" in decision.reason


def test_a_send_asked_about_at_the_end_of_the_calendar_denies_instead_of_raising() -> None:
    # 03:00 UTC on 9999-12-31 is the evening before in New York: the window's next
    # opening is on a day that does not exist.
    rules = ALL.rule_set("acme", "collect-v1")
    at = datetime(9999, 12, 31, 3, 0, tzinfo=UTC)

    decision = evaluate(
        rules.rules, send(at=at, where=location("America/New_York", states=("FL",))), rules.version
    )

    assert decision.decision == "deny"
    assert decision.reason is not None and "beyond the calendar's range" in decision.reason


def test_an_ordinary_deferral_is_unchanged() -> None:
    rules = ALL.rule_set("acme", "collect-v1")
    attempts = [Attempt("voice", AT - timedelta(days=6, hours=-i), debt_ref="D1") for i in range(7)]

    decision = evaluate(rules.rules, send(*attempts), rules.version)

    assert decision.decision == "defer"
    assert decision.until == AT + timedelta(days=1)
