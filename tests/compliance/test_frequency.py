"""The frequency caps at their edges: Reg F's 7th and 8th call and the week after a
conversation, three and four calls a day per subject across caller ids, the general
per-channel cap. Pure: each case is a hand-made ``RuleInput``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules.frequency import (
    AfterConversation,
    AttemptsPerDebt,
    CallsPerSubject,
    Cap,
    ChannelCap,
    located_in,
)
from adapters.policy.rules.model import Attempt

from .inputs import AT, DAY, HOUR, call, location, send

REGF = AttemptsPerDebt()
TALK = AfterConversation()
FLORIDA = CallsPerSubject("florida.calls_per_subject_24h", state="FL")
IN_FL = location("America/New_York", states=("FL",))


def days_ago(*days: float, **kw: object) -> list[Attempt]:
    return [call(timedelta(days=d), **kw) for d in days]  # type: ignore[arg-type]


SIX = days_ago(6.9, 5, 4, 3, 2, 1)


@pytest.mark.parametrize(
    ("history", "debt", "verdict", "until"),
    [
        # The 7th call: six before it in the week.
        (SIX, "D1", "allow", None),
        # The 8th: seven in the week, answered or not -> until the oldest is 7 days old.
        ([*SIX, call(HOUR, outcome="answered")], "D1", "defer", AT + timedelta(days=0.1)),
        # A prior dialer's imported calls count like DEE's.
        (days_ago(6.9, 5, 4, source="import") + days_ago(3, 2, 1, 0.5), "D1", "defer", None),
        # The window is (at - 7 days, at]: a call exactly 7 days ago has left it ...
        (days_ago(7, 5, 4, 3, 2, 1, 0.5), "D1", "allow", None),
        # ... one at the send's very instant is in it, and so is one recorded a minute
        # after it (another worker's "now" ran ahead: the call was placed).
        (days_ago(6.9, 5, 4, 3, 2, 1, 0), "D1", "defer", AT + timedelta(days=0.1)),
        (days_ago(6.9, 5, 4, 3, 2, 1, -1 / 1440), "D1", "defer", AT + timedelta(days=0.1)),
        # Another debt's calls do not count; a call with no debt on record does.
        (SIX + days_ago(0.5, debt="D2"), "D1", "allow", None),
        (SIX + days_ago(0.5, debt=None), "D1", "defer", AT + timedelta(days=0.1)),
        # No debt named on the send: every call to the contact counts (fail-closed).
        (days_ago(6.9, 5, 4, debt="D2") + days_ago(3, 2, 1, 0.5, debt="D3"), None, "defer", None),
        # Emails are not calls.
        (SIX + days_ago(0.5, channel="email"), "D1", "allow", None),
        # Nine calls (an import): the send waits until only six remain in the window.
        (days_ago(6.9, 6.8, 6.7, 5, 4, 3, 2, 1, 0.5), "D1", "defer", AT + timedelta(days=0.3)),
    ],
)
def test_seven_calls_in_seven_days(
    history: list[Attempt], debt: str | None, verdict: str, until: object
) -> None:
    result = REGF.check(send(*history, debt=debt))
    assert result.rule == "regf.attempts_7_in_7"
    assert result.verdict == verdict, result.reason
    if verdict == "defer":
        oldest = sorted(a.at for a in history)[len(history) - 7]
        assert result.until == oldest + timedelta(days=7)
        if until is not None:
            assert result.until == until
        # At that instant the same calls allow the send.
        assert REGF.check(send(*history, debt=debt, at=result.until)).verdict == "allow"
    if debt is None:
        assert "no debt reference named" in result.reason


def test_no_debt_named_counts_every_call_fail_closed() -> None:
    result = REGF.check(send(*SIX, debt=None))
    assert result.verdict == "allow"
    assert "fail-closed" in result.reason
    assert result.detail["counted"] == 6


@pytest.mark.parametrize(
    ("talk", "verdict"),
    [
        (call(timedelta(days=6), outcome="answered"), "defer"),
        (call(timedelta(days=7), outcome="answered"), "allow"),
        (call(timedelta(days=6, hours=23, minutes=59), outcome="answered"), "defer"),
        # A call that was not a conversation does not start the quiet week.
        (call(DAY, outcome="no-answer"), "allow"),
        (call(DAY, outcome=None), "allow"),
        # Another debt's conversation does not; one with no debt on record does.
        (call(DAY, outcome="answered", debt="D2"), "allow"),
        (call(DAY, outcome="answered", debt=None), "defer"),
        # An imported conversation counts, and so does one recorded after the send's instant.
        (call(DAY, outcome="answered", source="import"), "defer"),
        (call(-HOUR, outcome="answered"), "defer"),
    ],
)
def test_no_call_within_seven_days_after_a_conversation(talk: Attempt, verdict: str) -> None:
    result = TALK.check(send(talk))
    assert result.rule == "regf.after_conversation"
    assert result.verdict == verdict, result.reason
    if verdict == "defer":
        assert result.until == talk.at + timedelta(days=7)
        assert TALK.check(send(talk, at=talk.at + timedelta(days=7))).verdict == "allow"


def test_the_latest_conversation_sets_the_date() -> None:
    talks = [call(timedelta(days=d), outcome="answered") for d in (6, 2)]
    assert TALK.check(send(*talks)).until == AT + timedelta(days=5)


def two_callers(*hours: float, subject: str | None = "loan offer") -> list[Attempt]:
    numbers = ("+13055550100", "+13055550199")
    return [
        call(timedelta(hours=h), subject=subject, caller=numbers[i % 2], debt=None)
        for i, h in enumerate(hours)
    ]


@pytest.mark.parametrize(
    ("history", "verdict"),
    [
        # The 3rd call in 24 hours is allowed, from whichever number.
        (two_callers(20, 3), "allow"),
        # The 4th is not, whatever numbers the three came from.
        (two_callers(20, 10, 3), "defer"),
        # A call exactly 24 hours ago has left the window.
        (two_callers(24, 10, 3), "allow"),
        # Another subject's calls do not count; a call with no subject on record does.
        (two_callers(20, 10) + two_callers(3, subject="renewal"), "allow"),
        (two_callers(20, 10) + two_callers(3, subject=None), "defer"),
    ],
)
def test_three_calls_in_24_hours_per_subject(history: list[Attempt], verdict: str) -> None:
    result = FLORIDA.check(send(*history, subject="loan offer", where=IN_FL))
    assert result.verdict == verdict, result.reason
    if verdict == "defer":
        assert result.until == min(a.at for a in history) + timedelta(hours=24)


def test_a_send_naming_no_subject_counts_every_call_to_the_contact() -> None:
    # Three plans about one loan, none naming a subject: not nine calls a day.
    history = [*two_callers(20, subject="plan-a"), *two_callers(10, subject="plan-b")]
    history += two_callers(3, subject=None)
    result = FLORIDA.check(send(*history, where=IN_FL))
    assert result.verdict == "defer", result.reason
    assert "no subject named" in result.reason
    # A send that names its subject counts that subject's calls (and unnamed ones).
    assert FLORIDA.check(send(*history, subject="plan-c", where=IN_FL)).verdict == "allow"
    assert FLORIDA.check(send(*history, subject="plan-a", where=IN_FL)).verdict == "allow"
    more = [*history, *two_callers(2, subject="plan-a")]
    assert FLORIDA.check(send(*more, subject="plan-a", where=IN_FL)).verdict == "defer"


def test_state_rules_apply_only_to_contacts_located_there() -> None:
    history = two_callers(20, 10, 3, subject="collect-v1")
    elsewhere = location("America/New_York", states=("GA",))
    result = FLORIDA.check(send(*history, where=elsewhere))
    assert (result.verdict, result.reason) == (
        "allow",
        "not applicable (contact not located in FL)",
    )
    assert located_in(location("America/New_York", states=("GA", "FL")), "FL")
    assert not located_in(location("America/New_York"), "FL")


@pytest.mark.parametrize(
    ("cap", "history", "verdict"),
    [
        (Cap(7, 7), SIX, "allow"),
        (Cap(7, 7), [*SIX, call(HOUR)], "defer"),
        # Every plan, debt and subject together.
        (Cap(2, 1), [call(20 * HOUR, debt="D2"), call(HOUR, subject="x")], "defer"),
        (Cap(2, 1), [call(DAY), call(HOUR)], "allow"),
        (Cap(2, 1), [call(HOUR), call(HOUR, channel="email")], "allow"),
        (Cap(0, 1), [], "deny"),
    ],
)
def test_general_channel_cap(cap: Cap, history: list[Attempt], verdict: str) -> None:
    rule = ChannelCap("voice", cap)
    result = rule.check(send(*history))
    assert (result.rule, result.verdict) == ("general.channel_cap", verdict)
    if verdict == "defer":
        counted = sorted(a.at for a in history if a.channel == "voice")
        assert result.until == counted[len(counted) - cap.attempts] + timedelta(days=cap.days)


def test_a_cap_is_per_channel() -> None:
    rule = ChannelCap("email", Cap(1, 1))
    assert rule.channels == frozenset({"email"})
    assert rule.check(send(call(HOUR))).reason == "not applicable (channel voice)"
    assert rule.check(send(call(HOUR, channel="email"), channel="email")).verdict == "defer"


@pytest.mark.parametrize(
    ("attempts", "days", "field"), [(-1, 7, "attempts"), (True, 7, "attempts"), (7, 0, "days")]
)
def test_a_bad_cap_is_refused_naming_the_field(attempts: int, days: int, field: str) -> None:
    with pytest.raises(PolicyConfigError, match=f"channel cap: {field} is an integer"):
        Cap(attempts, days)


def test_rules_ignore_other_channels() -> None:
    email = send(*SIX, call(HOUR), channel="email")
    for rule in (REGF, TALK, FLORIDA):
        assert rule.check(email).reason == "not applicable (channel email)"
