"""The settings' compliance rules (``policies.presets`` and friends): read into the
gate's ``RulesConfig``, and refused at start-up, naming file and field, when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from dee.config import load_config
from dee.errors import DocumentError
from dee.worker import rules_config

SETTINGS = """
policies:
  presets: [tcpa]
  tenantPresets: {acme: [regf]}
  planPresets: {collections: [florida, oklahoma]}
  emailWindows:
    acme: {start: "09:00", end: "17:00", days: [mon, tue, wed, thu, fri]}
    "plan:collections": {start: "10:00", end: "16:00"}
  channelCaps: {email: {attempts: 3, days: 1}}
  tenantChannelCaps: {acme: {voice: null}}
"""


def test_the_settings_become_the_rules_each_send_gets(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, SETTINGS), env={})
    rules = rules_config(config)
    acme = rules.rule_set("acme", "collections")
    assert acme.presets == ("florida", "oklahoma", "regf", "tcpa")
    names = [rule.name for rule in acme.rules]
    assert {"tcpa.calling_window", "regf.attempts_7_in_7", "florida.calls_per_subject_24h"} <= set(
        names
    )
    assert "tenant.email_window" in names and "plan.email_window" in names
    # acme removed the voice cap; the email cap is the settings' own
    caps = [rule for rule in acme.rules if rule.name == "general.channel_cap"]
    assert [sorted(rule.channels) for rule in caps] == [["email"]]

    other = rules.rule_set("beta", "welcome")
    assert other.presets == ("tcpa",)
    other_caps = [rule for rule in other.rules if rule.name == "general.channel_cap"]
    assert sorted(c for rule in other_caps for c in rule.channels) == ["email", "voice"]
    assert acme.version != other.version


def test_without_settings_only_the_default_voice_cap_applies() -> None:
    rules = rules_config(load_config(env={}))
    default = rules.rule_set("t", "p")
    assert default.presets == ()
    assert [(rule.name, sorted(rule.channels)) for rule in default.rules] == [
        ("general.channel_cap", ["voice"])
    ]


@pytest.mark.parametrize(
    ("policies", "field", "words"),
    [
        ("{presets: [tcpa, texas]}", "policies.presets", "unknown preset 'texas'"),
        ("{tenantPresets: {acme: [regf, regf]}}", "policies.tenantPresets.acme", "named twice"),
        ("{planPresets: {p: [Reg-F]}}", "policies.planPresets.p", "unknown preset 'Reg-F'"),
        ('{emailWindows: {acme: {start: "9:00", end: "17:00"}}}', "emailWindows.acme.start", ""),
        (
            '{emailWindows: {acme: {start: "18:00", end: "09:00"}}}',
            "policies.emailWindows.acme",
            "start 18:00 must be before end 09:00",
        ),
        ("{emailWindows: {acme: {start: '09:00', end: '17:00', days: [fri, fri]}}}", "acme", ""),
        ("{channelCaps: {fax: {attempts: 1, days: 1}}}", "policies.channelCaps.fax", ""),
        ("{channelCaps: {voice: {attempts: -1, days: 1}}}", "channelCaps.voice.attempts", ""),
        ("{tenantChannelCaps: {acme: {voice: {attempts: 1, days: 0}}}}", "voice.days", ""),
    ],
)
def test_a_wrong_compliance_setting_is_refused_naming_file_and_field(
    tmp_path: Path, policies: str, field: str, words: str
) -> None:
    file = _write(tmp_path, f"policies: {policies}\n")
    with pytest.raises(DocumentError) as info:
        load_config(file, env={})
    lines = info.value.lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"configuration {file}: ")
    assert field in lines[0] and words in lines[0]


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "dee.yaml"
    file.write_text(text)
    return file


def test_the_rules_assume_a_zone_only_when_the_settings_name_one(tmp_path: Path) -> None:
    # The gate's hours policy falls back to UTC; the compliance rules must not guess.
    unset = rules_config(load_config(_write(tmp_path, "policies: {presets: [tcpa]}\n"), env={}))
    assert unset.assumed_timezone is None
    named = rules_config(
        load_config(
            _write(tmp_path, "policies: {presets: [tcpa], defaultTimezone: America/Chicago}\n"),
            env={},
        )
    )
    assert named.assumed_timezone == "America/Chicago"
    # The assumed zone changes decisions, so it changes the rules version.
    assert named.rule_set("t", "p").version != unset.rule_set("t", "p").version
