"""The engine's combination of rule results: deny beats defer, a deferral lands on the
first instant every rule allows (a window and a frequency cap together), the search is
bounded, and the proof holds everything the audit entry needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.policy.rules.email import OptOutClock, Revocation
from adapters.policy.rules.engine import MAX_ROUNDS, MAX_SPAN, evaluate
from adapters.policy.rules.frequency import AfterConversation, AttemptsPerDebt, Cap, ChannelCap
from adapters.policy.rules.model import RuleInput, RuleResult

from .inputs import AT, DAY, HOUR, call, send

VOICE = frozenset({"voice"})


@dataclass(frozen=True, slots=True)
class UtcWindow:
    """A window-like rule: calls only from ``opens`` to ``closes`` o'clock UTC."""

    opens: int = 13
    closes: int = 21
    name: str = "test.window"
    channels: frozenset[str] = VOICE

    def check(self, inp: RuleInput) -> RuleResult:
        if self.opens <= inp.at.hour < self.closes:
            return RuleResult(self.name, "allow", "open")
        day = inp.at if inp.at.hour < self.opens else inp.at + DAY
        until = day.replace(hour=self.opens, minute=0, second=0, microsecond=0)
        return RuleResult(self.name, "defer", "closed", until=until)


@dataclass(frozen=True, slots=True)
class Receding:
    """Never allows: always defers by ``step`` (to exercise the search's bounds)."""

    step: timedelta
    name: str = "test.receding"
    channels: frozenset[str] = VOICE

    def check(self, inp: RuleInput) -> RuleResult:
        return RuleResult(self.name, "defer", "later", until=inp.at + self.step)


@dataclass(frozen=True, slots=True)
class DeniesFrom:
    """Allows before ``cutoff``, denies from it on."""

    cutoff: datetime
    name: str = "test.cutoff"
    channels: frozenset[str] = VOICE

    def check(self, inp: RuleInput) -> RuleResult:
        if inp.at < self.cutoff:
            return RuleResult(self.name, "allow", "before the cutoff")
        return RuleResult(self.name, "deny", "past the cutoff")


REGF = AttemptsPerDebt()
# Seven calls in the week; the oldest turns 7 days old at AT + 0.3 days = 22:12 UTC,
# after the window closes (AT is 15:00 UTC).
WEEK = [call(timedelta(days=d)) for d in (6.7, 5, 4, 3, 2, 1, 0.5)]


def test_a_frequency_deferral_outside_the_window_lands_on_the_next_opening() -> None:
    decision = evaluate([UtcWindow(), REGF], send(*WEEK), "v1")
    next_opening = (AT + DAY).replace(hour=13)
    assert (decision.decision, decision.until) == ("defer", next_opening)
    assert decision.rule == "regf.attempts_7_in_7"
    assert decision.reason is not None
    assert decision.reason.endswith(f"; then test.window deferred to {next_opening.isoformat()}")
    # Results are every rule at the send's instant; the search shows each jump.
    assert [(r.rule, r.verdict) for r in decision.results] == [
        ("test.window", "allow"),
        ("regf.attempts_7_in_7", "defer"),
    ]
    assert decision.search == (
        {
            "at": AT.isoformat(),
            "rule": "regf.attempts_7_in_7",
            "until": "2026-03-03T22:12:00+00:00",
        },
        {
            "at": "2026-03-03T22:12:00+00:00",
            "rule": "test.window",
            "until": next_opening.isoformat(),
        },
    )


def test_the_latest_of_two_deferrals_wins_when_every_rule_allows_there() -> None:
    early = AT.replace(hour=5)  # the window is closed until 13:00 UTC
    # Seven calls; the oldest turns 7 days old at 10:00 UTC, before the window opens.
    ago = [timedelta(days=7, hours=5), *(timedelta(days=d) for d in (5, 4, 3, 2, 1, 0.5))]
    decision = evaluate([REGF, UtcWindow()], send(*map(call, ago), at=early), "v1")
    assert [r.until for r in decision.results] == [AT.replace(hour=10), AT.replace(hour=13)]
    assert (decision.decision, decision.until) == ("defer", AT.replace(hour=13))
    assert (decision.rule, decision.reason) == ("test.window", "closed")


def test_deny_beats_defer() -> None:
    consent = {"status": "opted_out", "source": "reply:STOP", "recorded_at": AT.isoformat()}
    decision = evaluate([UtcWindow(), REGF, Revocation()], send(*WEEK, consent=consent), "v1")
    assert (decision.decision, decision.until, decision.rule) == ("deny", None, "tcpa.revocation")
    assert decision.reason is not None and "reply:STOP" in decision.reason


def test_allow_names_no_rule_and_only_the_channels_rules_are_evaluated() -> None:
    rules = [
        UtcWindow(),
        REGF,
        AfterConversation(),
        OptOutClock("can-spam.opt_out", 10, "business_days"),
    ]
    decision = evaluate(rules, send(call(2 * DAY)), "v1")
    assert (decision.decision, decision.until, decision.rule, decision.reason) == (
        "allow",
        None,
        None,
        None,
    )
    assert [r.rule for r in decision.results] == [
        "test.window", "regf.attempts_7_in_7", "regf.after_conversation",
    ]  # fmt: skip
    email = evaluate(rules, send(channel="email"), "v1")
    assert [r.rule for r in email.results] == ["can-spam.opt_out"]


def test_a_rule_denying_at_the_deferred_instant_denies() -> None:
    cutoff = AT + timedelta(hours=5)  # before the cap lets the 8th call go at 22:12
    decision = evaluate([REGF, DeniesFrom(cutoff)], send(*WEEK), "v1")
    assert (decision.decision, decision.until, decision.rule) == (
        "deny",
        None,
        "regf.attempts_7_in_7",
    )
    assert decision.reason == (
        "deferred to 2026-03-03T22:12:00+00:00, where test.cutoff denies: past the cutoff"
    )


def test_the_search_is_bounded_in_time_and_rounds() -> None:
    for step in (DAY, HOUR):
        decision = evaluate([Receding(step)], send(), "v1")
        assert (decision.decision, decision.until) == ("deny", None)
        assert decision.reason is not None
        assert decision.reason.startswith(
            f"no permitted instant within {MAX_SPAN.days} days ({MAX_ROUNDS} rounds)"
        )
        assert len(decision.search) <= MAX_ROUNDS + 1
    assert len(evaluate([Receding(HOUR)], send(), "v1").search) == MAX_ROUNDS + 1


def test_a_cap_of_zero_denies_instead_of_deferring_forever() -> None:
    decision = evaluate([ChannelCap("voice", Cap(0, 1))], send(), "v1")
    assert (decision.decision, decision.rule) == ("deny", "general.channel_cap")


def test_the_proof_is_json_ready_and_complete() -> None:
    inp = send(*WEEK)
    decision = evaluate([UtcWindow(), REGF], inp, "2026-12:0123456789ab", presets=("regf",))
    proof = json.loads(json.dumps(decision.proof()))
    assert set(proof) == {
        "rulesVersion", "presets", "decision", "until", "rule", "reason", "location", "rules",
        "search",
    }  # fmt: skip
    assert proof["rulesVersion"] == "2026-12:0123456789ab"
    assert proof["presets"] == ["regf"]
    assert proof["decision"] == "defer"
    assert proof["until"] == decision.until.isoformat()  # type: ignore[union-attr]
    assert proof["location"] == inp.location.proof()
    assert proof["rules"] == [json.loads(json.dumps(r.as_json())) for r in decision.results]
    allowed = evaluate([REGF], send(), "v1").proof()
    assert "search" not in allowed
    assert (allowed["decision"], allowed["until"], allowed["rule"]) == ("allow", None, None)


def test_the_same_input_gives_the_same_decision() -> None:
    rules = [UtcWindow(), REGF, AfterConversation()]
    inp = send(*WEEK, call(3 * DAY, outcome="answered"))
    assert evaluate(rules, inp, "v1") == evaluate(rules, inp, "v1")


_ATTEMPTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=8 * 24 * 60),  # minutes before the send
        st.sampled_from(["answered", "no-answer", None]),
        st.sampled_from(["D1", "D2", None]),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(attempts=_ATTEMPTS, hour=st.integers(min_value=0, max_value=23))
def test_a_deferral_is_the_first_instant_every_rule_allows(
    attempts: list[tuple[int, str | None, str | None]], hour: int
) -> None:
    rules = [UtcWindow(), REGF, AfterConversation()]
    at = AT.replace(hour=hour)
    history = [call(timedelta(minutes=m) + (AT - at), outcome=o, debt=d) for m, o, d in attempts]
    decision = evaluate(rules, send(*history, at=at), "v1")
    if decision.decision == "allow":
        assert all(r.verdict == "allow" for r in decision.results)
        return
    assert decision.decision == "defer" and decision.until is not None
    assert decision.until > at
    assert evaluate(rules, send(*history, at=decision.until), "v1").decision == "allow"
    # No earlier instant allows every rule: sample every 10 minutes and the last second.
    earlier = [
        at + timedelta(minutes=10 * k)
        for k in range(int((decision.until - at).total_seconds() // 600))
    ]
    for t in [*earlier, decision.until - timedelta(seconds=1)]:
        assert any(rule.check(send(*history, at=t)).verdict != "allow" for rule in rules), t
