"""Policy configuration (pure): documented defaults, and bad values refused when built."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

import pytest

from adapters.policy import (
    ContactCap,
    Costs,
    HoursWindow,
    PolicyConfig,
    PolicyConfigError,
    PolicyInputError,
)
from adapters.policy.money import to_micros


def _loose(value: Any) -> Any:
    """A deliberately wrong value, past the type checker, for the runtime checks."""
    return value


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: HoursWindow(time(21), time(8)), "start 21:00:00 must be before end 08:00:00"),
        (lambda: HoursWindow(time(8), time(21), frozenset({0})), "ISO weekdays 1-7"),
        (lambda: PolicyConfig(default_timezone="Nowhere/City"), "default_timezone"),
        (lambda: PolicyConfig(consent_modes=_loose({"email": "maybe"})), "consent_modes[email]"),
        (lambda: PolicyConfig(daily_limits={("acme", "email"): -1}), "daily_limits[acme, email]"),
        (lambda: PolicyConfig(default_daily_limits=_loose({"sms": 3})), "unknown channel 'sms'"),
        (lambda: PolicyConfig(on_daily_limit=_loose("skip")), "on_daily_limit"),
        (lambda: Costs(per_email=_loose(0.1)), "costs.per_email: money must be a Decimal"),
        (lambda: Costs(currency="dollars"), "costs.currency"),
    ],
)
def test_bad_configuration_is_refused_when_built(build: Any, message: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        build()

    assert message in str(caught.value)


def test_configuration_is_frozen_with_the_documented_defaults() -> None:
    config = PolicyConfig(daily_limits={("acme", "email"): 3})

    assert config.consent_mode("voice") == "required"
    assert config.consent_mode("email") == "opt-out"
    assert config.window("voice") == HoursWindow(time(8), time(21))
    assert config.window("email") is None
    assert config.daily_limit("acme", "email") == 3
    assert config.daily_limit("globex", "email") is None
    with pytest.raises(TypeError):
        config.daily_limits[("acme", "voice")] = 1  # type: ignore[index]


def test_overrides_merge_over_the_defaults() -> None:
    email_hours = HoursWindow(time(9), time(17))

    with_email = PolicyConfig(hours={"email": email_hours}, consent_modes={"email": "required"})
    without_voice = PolicyConfig(hours={"voice": None})

    # Configuring email leaves voice's defaults in place ...
    assert with_email.window("email") == email_hours
    assert with_email.window("voice") == HoursWindow(time(8), time(21))
    assert with_email.consent_mode("voice") == "required"
    assert with_email.consent_mode("email") == "required"
    # ... and removing a window takes an explicit None.
    assert without_voice.window("voice") is None


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("1000000000000.000001"), "is more than 1000000000000 units"),
        (Decimal("NaN"), "must be a finite amount >= 0"),
        (Decimal("-0.01"), "must be a finite amount >= 0"),
    ],
)
def test_money_out_of_range_is_refused(amount: Decimal, message: str) -> None:
    with pytest.raises(PolicyInputError, match=re.escape(message)):
        to_micros(amount, field="limit")


def test_the_public_api_is_pinned() -> None:
    import adapters.policy

    assert sorted(adapters.policy.__all__) == sorted(
        [
            "DEFAULT_CONTACT_CAP",
            "ContactCap",
            "ORDER",
            "SCOPES",
            "VOICE_HOURS",
            "BudgetStatus",
            "Channel",
            "ConsentEntry",
            "ConsentMode",
            "Costs",
            "Decision",
            "GateRequest",
            "HoursWindow",
            "LimitResolution",
            "NoOpening",
            "PolicyAdmin",
            "PolicyConfig",
            "PolicyConfigError",
            "PolicyDecision",
            "PolicyError",
            "PolicyGate",
            "PolicyInputError",
            "PolicyName",
            "Scope",
            "Settlement",
            "SettlementConflict",
            "SuppressionEntry",
            "UnknownSuppression",
            "is_open",
            "next_opening",
        ]
    )
    assert all(hasattr(adapters.policy, name) for name in adapters.policy.__all__)


@pytest.mark.parametrize(("sends", "days"), [(-1, 7), (10, 0), (True, 7), (10, 1.5)])
def test_a_contact_cap_out_of_range_is_refused(sends: object, days: object) -> None:
    with pytest.raises(PolicyConfigError, match="contact cap: "):
        ContactCap(sends=sends, days=days)  # type: ignore[arg-type]
