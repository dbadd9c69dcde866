"""The presets hold the rules and parameters their sources prescribe (checked as values:
the window rules' own behaviour is tested in test_windows.py)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules import holidays
from adapters.policy.rules.email import OptOutClock, Revocation
from adapters.policy.rules.frequency import AfterConversation, AttemptsPerDebt, CallsPerSubject
from adapters.policy.rules.presets import PRESETS, UnknownPreset, preset
from adapters.policy.rules.windows import CallingWindow

VOICE = frozenset({"voice"})


def window(name: str, end: int, states: frozenset[str], citation: str) -> CallingWindow:
    return CallingWindow(name, time(8), time(end), VOICE, frozenset(range(1, 8)), states, citation)


FL = "Fla. Stat. 501.616(6)"
OK = "15 O.S. 775C.4 (Telephone Solicitation Act of 2022)"
DAY = timedelta(hours=24)
EXPECTED = {
    "tcpa": (window("tcpa.calling_window", 21, frozenset(), "47 CFR 64.1200(c)(1)"), Revocation()),
    "florida": (
        window("florida.calling_window", 20, frozenset({"FL"}), f"{FL}(a)"),
        CallsPerSubject("florida.calls_per_subject_24h", "FL", 3, DAY, VOICE, f"{FL}(b)"),
    ),
    "oklahoma": (
        window("oklahoma.calling_window", 20, frozenset({"OK"}), OK),
        CallsPerSubject("oklahoma.calls_per_subject_24h", "OK", 3, DAY, VOICE, OK),
    ),
    "regf": (
        window("regf.calling_window", 21, frozenset(), "12 CFR 1006.6(b)(1)(i)"),
        AttemptsPerDebt("regf.attempts_7_in_7", 7, timedelta(days=7)),
        AfterConversation("regf.after_conversation", timedelta(days=7)),
    ),
    "can-spam": (
        OptOutClock("can-spam.opt_out", 10, "business_days", citation="15 U.S.C. 7704(a)(4)"),
    ),
    "gmail-bulk": (
        OptOutClock("gmail-bulk.opt_out", 48, "hours", citation="RFC 8058; Gmail/Yahoo 2024"),
    ),
    "state-holidays": tuple(getattr(holidays, "HOLIDAY_BANS", ())),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_rules_and_parameters(name: str) -> None:
    found = PRESETS[name]
    assert found.name == name
    assert found.rules == EXPECTED[name]
    assert found.title
    if found.rules:
        assert found.citations


def test_the_issues_six_presets_and_the_holiday_bans_are_all_there() -> None:
    assert set(PRESETS) == {
        "tcpa", "florida", "oklahoma", "regf", "can-spam", "gmail-bulk", "state-holidays",
    }  # fmt: skip


def test_rule_names_are_preset_dot_rule() -> None:
    for name, found in PRESETS.items():
        if name != "state-holidays":  # bans are named per state: ``<state>.holiday``
            assert all(rule.name.startswith(f"{name}.") for rule in found.rules)


def test_unknown_preset_names_the_field_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPreset) as caught:
        preset("tcpaa", "policies.presets")
    assert isinstance(caught.value, PolicyConfigError)
    assert caught.value.preset == "tcpaa"
    assert str(caught.value) == (
        "policies.presets: unknown compliance preset 'tcpaa' (known: can-spam, florida, "
        "gmail-bulk, oklahoma, regf, state-holidays, tcpa)"
    )
    assert preset("regf") is PRESETS["regf"]
