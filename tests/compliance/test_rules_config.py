"""Which rules a send gets: the union of the configured presets, email windows and
channel caps, validated when built, with a version that changes exactly when the
effective rules do and is the same in every process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from adapters.policy.config import HoursWindow
from adapters.policy.errors import PolicyConfigError
from adapters.policy.rules.config import RULES_TABLES_VERSION, RulesConfig
from adapters.policy.rules.email import EmailWindow
from adapters.policy.rules.frequency import Cap, ChannelCap
from adapters.policy.rules.presets import PRESETS, UnknownPreset

ROOT = Path(__file__).resolve().parents[2]
OFFICE = HoursWindow(time(9), time(17), frozenset(range(1, 6)))
LATE = HoursWindow(time(9), time(18))
DEFAULT_CAP = ChannelCap("voice", Cap(7, 7))

CONFIG = RulesConfig(
    presets=("tcpa",),
    tenant_presets={"acme": ("florida", "tcpa")},
    plan_presets={"collect-v1": ("regf",)},
    email_windows={"acme": OFFICE, "plan:collect-v1": LATE},
    channel_caps={"email": Cap(3, 1)},
    tenant_channel_caps={"acme": {"voice": Cap(3, 1)}},
)


def names(config: RulesConfig, *args: object, **kw: object) -> list[str]:
    return [rule.name for rule in config.rule_set(*args, **kw).rules]  # type: ignore[arg-type]


def test_no_configuration_is_the_general_voice_cap_only() -> None:
    rules = RulesConfig().rule_set("acme", "p1")
    assert rules.rules == (DEFAULT_CAP,)
    assert rules.presets == ()


def test_union_of_deployment_tenant_plan_and_plan_file_presets() -> None:
    rules = CONFIG.rule_set("acme", "collect-v1", ("can-spam",))
    assert rules.presets == ("can-spam", "florida", "regf", "tcpa")
    expected = [r for p in rules.presets for r in PRESETS[p].rules]
    expected += [
        EmailWindow("tenant.email_window", OFFICE),
        EmailWindow("plan.email_window", LATE),
        ChannelCap("email", Cap(3, 1)),
        ChannelCap("voice", Cap(3, 1)),
    ]
    # tcpa came from the deployment and the tenant: its rules appear once.
    assert list(rules.rules) == expected


def test_another_tenant_and_plan_get_only_the_deployment_rules() -> None:
    assert names(CONFIG, "other", "p2") == [
        "tcpa.calling_window", "tcpa.revocation", "general.channel_cap", "general.channel_cap",
    ]  # fmt: skip
    caps = [r for r in CONFIG.rule_set("other", "p2").rules if isinstance(r, ChannelCap)]
    assert caps == [ChannelCap("email", Cap(3, 1)), DEFAULT_CAP]


def test_override_replaces_the_presets_but_keeps_windows_and_caps() -> None:
    rules = CONFIG.rule_set("acme", "collect-v1", ("can-spam",), override=("regf",))
    assert rules.presets == ("regf",)
    assert [r.name for r in rules.rules] == [
        "regf.calling_window", "regf.attempts_7_in_7", "regf.after_conversation",
        "tenant.email_window", "plan.email_window", "general.channel_cap", "general.channel_cap",
    ]  # fmt: skip
    assert RulesConfig(presets=("tcpa",)).rule_set("a", "p", override=()).presets == ()


def test_a_cap_can_be_removed() -> None:
    config = RulesConfig(
        channel_caps={"voice": None}, tenant_channel_caps={"b": {"voice": Cap(1, 1)}}
    )
    assert config.rule_set("a", "p").rules == ()
    assert config.rule_set("b", "p").rules == (ChannelCap("voice", Cap(1, 1)),)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"presets": ("tcpa", "nope")}, "presets: unknown compliance preset 'nope' (known: "),
        ({"presets": "tcpa"}, "presets: a list of preset names, got 'tcpa'"),
        (
            {"tenant_presets": {"acme": ("nope",)}},
            "tenant_presets[acme]: unknown compliance preset",
        ),
        ({"plan_presets": {"p1": ["regf", 3]}}, "plan_presets[p1]: unknown compliance preset 3"),
        ({"plan_presets": {"": ("regf",)}}, "plan_presets: key '' is not a non-empty string"),
        ({"email_windows": {"acme": "09-17"}}, "email_windows[acme]: '09-17' is not a HoursWindow"),
        ({"email_windows": {"plan:": OFFICE}}, "email_windows[plan:]: names no plan id"),
        ({"channel_caps": {"sms": Cap(1, 1)}}, "channel_caps: unknown channel 'sms'"),
        ({"channel_caps": {"voice": 7}}, "channel_caps[voice]: 7 is not a Cap"),
        (
            {"tenant_channel_caps": {"acme": {"fax": None}}},
            "tenant_channel_caps[acme]: unknown channel",
        ),
        ({"tenant_channel_caps": {"acme": [1]}}, "tenant_channel_caps[acme]: a mapping, got [1]"),
    ],
)
def test_configuration_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        RulesConfig(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [({"plan_presets": ("nope",)}, "compliance.presets"), ({"override": ("nope",)}, "override")],
)
def test_unknown_presets_of_a_send_name_where_they_came_from(
    kwargs: dict[str, tuple[str, ...]], where: str
) -> None:
    with pytest.raises(
        UnknownPreset, match=re.escape(f"{where}: unknown compliance preset 'nope'")
    ):
        RulesConfig().rule_set("acme", "p1", **kwargs)  # type: ignore[arg-type]


def test_configured_lists_are_frozen_copies() -> None:
    mine = {"acme": ["tcpa"]}
    config = RulesConfig(tenant_presets=mine)  # type: ignore[dict-item]
    mine["acme"].append("regf")
    assert config.tenant_presets["acme"] == ("tcpa",)
    with pytest.raises(TypeError):
        config.tenant_presets["other"] = ("regf",)  # type: ignore[index]


VERSION = re.compile(rf"^{re.escape(RULES_TABLES_VERSION)}:[0-9a-f]{{12}}$")


def version(config: RulesConfig, tenant: str = "acme", plan: str = "collect-v1") -> str:
    return config.rule_set(tenant, plan).version


def test_version_changes_exactly_when_the_effective_rules_do() -> None:
    base = version(CONFIG)
    assert VERSION.match(base)
    # The same configuration, spelled in another order: the same version.
    same = RulesConfig(
        presets=("tcpa",),
        tenant_presets={"acme": ("tcpa", "florida")},
        plan_presets={"collect-v1": ("regf",)},
        email_windows={"plan:collect-v1": LATE, "acme": OFFICE},
        channel_caps={"email": Cap(3, 1)},
        tenant_channel_caps={"acme": {"voice": Cap(3, 1)}},
    )
    assert version(same) == base
    changed = [
        RulesConfig(**{**_fields(CONFIG), "tenant_channel_caps": {"acme": {"voice": Cap(4, 1)}}}),
        RulesConfig(
            **{**_fields(CONFIG), "email_windows": {"acme": LATE, "plan:collect-v1": LATE}}
        ),
        RulesConfig(**{**_fields(CONFIG), "presets": ("tcpa", "can-spam")}),
    ]
    versions = {version(c) for c in changed}
    assert base not in versions
    assert len(versions) == len(changed)
    # A tenant without its own rules has another rule set, so another version.
    assert version(CONFIG, "other", "p2") != base


def _fields(config: RulesConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in RulesConfig.__dataclass_fields__}


PROGRAM = """
from datetime import time
from adapters.policy.config import HoursWindow
from adapters.policy.rules.config import RulesConfig
from adapters.policy.rules.frequency import Cap
config = RulesConfig(
    presets=("tcpa",),
    tenant_presets={"acme": ("florida", "tcpa")},
    plan_presets={"collect-v1": ("regf",)},
    email_windows={"acme": HoursWindow(time(9), time(17), frozenset(range(1, 6))),
                   "plan:collect-v1": HoursWindow(time(9), time(18))},
    channel_caps={"email": Cap(3, 1)},
    tenant_channel_caps={"acme": {"voice": Cap(3, 1)}},
)
print(config.rule_set("acme", "collect-v1").version)
"""


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_version_is_the_same_in_another_process(hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == version(CONFIG)
