"""Attacks on the general channel cap's configuration: a window too long to read back."""

from __future__ import annotations

import pytest

from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.frequency import MAX_CAP_DAYS, Cap


def test_a_cap_window_past_the_calendar_is_refused_when_configured() -> None:
    # Read back a million days from any instant, the ledger query's bound raised
    # OverflowError at every send instead of deciding.
    with pytest.raises(PolicyConfigError, match="channel cap: days is at most 3660"):
        RulesConfig(channel_caps={"voice": Cap(3, 1_000_000)})


def test_the_longest_cap_window_is_accepted() -> None:
    config = RulesConfig(channel_caps={"voice": Cap(3, MAX_CAP_DAYS)})
    assert config.channel_caps["voice"] == Cap(3, MAX_CAP_DAYS)
