"""EngineConfig: defaults, a settings file, DEE_* overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dee.config import load_config
from dee.errors import DocumentError
from dee.settings import Settings

SETTINGS = """
database: postgresql+asyncpg://dee@db/dee
temporal: {address: "temporal:7233", taskQueue: plans}
scheduler: {tickInterval: 500, maxRunsPerTick: 50, partitionKey: eu}
channels:
  email: {host: smtp.internal, port: 2525, sender: "Ops <ops@example.com>"}
policies: {onDailyLimit: defer_next_day, dailyLimits: {email: 1000}}
"""


def test_defaults_are_the_embedded_setup() -> None:
    config = load_config(env={})
    assert config.database_url == "sqlite+aiosqlite:///data/dee.db"
    assert (config.temporal.address, config.task_queue) == ("localhost:7233", "dee-plan-runs")


def test_a_settings_file_maps_onto_temporal_and_env_overrides_single_fields(tmp_path: Path) -> None:
    file = tmp_path / "dee.yaml"
    file.write_text(SETTINGS)
    config = load_config(env={"DEE_CONFIG": str(file), "DEE_TEMPORAL_ADDRESS": "other:7233"})
    assert config.temporal.address == "other:7233"  # the variable wins over the file
    assert config.task_queue == "plans-eu"  # partitionKey selects the task queue
    assert config.activities_per_second == 100  # 50 runs per 500 ms tick
    assert config.channels.email.port == 2525
    assert config.policies.on_daily_limit == "defer_next_day"


def test_the_process_environment_is_read_through_pydantic_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEE_SMTP_HOST", "mail.example")
    monkeypatch.setenv("DEE_SEARCH_ATTRIBUTES", "false")
    config = load_config()
    assert config.channels.email.host == "mail.example"
    assert config.temporal.search_attributes is False


def test_a_bad_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as caught:
        load_config(env={"DEE_SMTP_PORT": "twenty-five"})
    assert caught.value.lines[0].startswith("configuration DEE_SMTP_PORT:")


def test_a_bad_file_value_names_the_file_and_field(tmp_path: Path) -> None:
    file = tmp_path / "dee.yaml"
    file.write_text("scheduler: {tickInterval: 0}\n")
    with pytest.raises(DocumentError) as caught:
        load_config(file, env={})
    assert list(caught.value.lines) == [
        f"configuration {file}: scheduler.tickInterval: Input should be greater than or equal to 1"
    ]


def test_the_event_acknowledgement_timeout_comes_from_the_file_or_a_variable(
    tmp_path: Path,
) -> None:
    file = tmp_path / "dee.yaml"
    file.write_text("temporal: {eventAckTimeout: 1.5}\n")
    assert load_config(file, env={}).temporal.event_ack_timeout == 1.5
    assert load_config(env={"DEE_EVENT_ACK_TIMEOUT": "0.25"}).temporal.event_ack_timeout == 0.25
    with pytest.raises(DocumentError) as caught:
        load_config(env={"DEE_EVENT_ACK_TIMEOUT": "0"})
    assert list(caught.value.lines) == [
        "configuration DEE_EVENT_ACK_TIMEOUT: Input should be greater than 0"
    ]


def test_the_template_limits_come_from_the_file_or_variables(tmp_path: Path) -> None:
    defaults = load_config(env={}).templates
    assert (defaults.render_seconds, defaults.max_output_chars, defaults.max_subject_chars) == (
        2.0,
        1_000_000,
        998,
    )
    assert (defaults.max_range, defaults.memory_mb, defaults.processes) == (10_000, 256, 2)
    file = tmp_path / "dee.yaml"
    file.write_text("templates: {renderSeconds: 0.5, maxOutputChars: 5000, processes: 4}\n")
    env = {"DEE_TEMPLATE_MAX_RANGE": "100", "DEE_TEMPLATE_MEMORY_MB": "0"}
    env |= {"DEE_TEMPLATE_MAX_SUBJECT_CHARS": "80", "DEE_TEMPLATE_PROCESSES": "1"}
    config = load_config(file, env=env).templates
    assert (config.render_seconds, config.max_output_chars, config.max_subject_chars) == (
        0.5,
        5000,
        80,
    )
    assert (config.max_range, config.memory_mb, config.processes) == (100, 0, 1)
    with pytest.raises(DocumentError) as caught:
        load_config(env={"DEE_TEMPLATE_RENDER_SECONDS": "30"})
    # A render must leave the send activity's 60 s for the provider.
    assert list(caught.value.lines) == [
        "configuration DEE_TEMPLATE_RENDER_SECONDS: Input should be less than or equal to 5"
    ]


DATABASE_SECTION = """
database:
  url: postgresql+asyncpg://dee_app@db/dee
  migrationUrl: postgresql+asyncpg://dee_owner:secret@db/dee
  appRole: dee_app
"""


def test_the_database_is_a_url_or_a_section_and_variables_fill_either(tmp_path: Path) -> None:
    file = tmp_path / "dee.yaml"
    file.write_text(DATABASE_SECTION)
    config = load_config(
        env={"DEE_CONFIG": str(file), "DEE_DATABASE_RETENTION_URL": "postgresql://ret@db/dee"}
    )
    settings = Settings.from_config(config)
    assert settings.database_url == "postgresql+asyncpg://dee_app@db/dee"
    assert settings.migration_url == "postgresql+asyncpg://dee_owner:secret@db/dee"
    assert settings.retention_url == "postgresql://ret@db/dee"
    assert (settings.app_role, settings.retention_role) == ("dee_app", None)
    assert "secret" not in repr(config) + repr(settings)  # owner credentials stay out of logs
    # A plain URL in the file, then a second database variable: the URL is kept.
    file.write_text(SETTINGS)
    config = load_config(
        env={"DEE_CONFIG": str(file), "DEE_DATABASE_MIGRATION_URL": "postgresql://o@db/dee"}
    )
    assert config.database_url == "postgresql+asyncpg://dee@db/dee"
    assert config.database_settings.migration_url == "postgresql://o@db/dee"
    # DEE_DATABASE_URL sets the section's url when the file gives a section.
    file.write_text(DATABASE_SECTION)
    config = load_config(env={"DEE_CONFIG": str(file), "DEE_DATABASE_URL": "sqlite:///x.db"})
    assert config.database_url == "sqlite:///x.db"
    assert config.database_settings.migration_url is not None


@pytest.mark.parametrize("name", ["Dee-App", "1app", "a" * 64, "app; DROP TABLE plans"])
def test_a_role_name_postgresql_would_not_take_unquoted_is_refused(name: str) -> None:
    with pytest.raises(DocumentError, match="configuration DEE_DATABASE_APP_ROLE: String should"):
        load_config(env={"DEE_DATABASE_APP_ROLE": name})
