"""``docker compose config`` on docker-compose.yml, as far as it can be done without
Docker: the file is interpolated as Compose does it (tests/compose/interpolation.py) and
validated against the Compose Specification's own JSON schema (tests/compose/), then
checked for what the schema cannot see: dependencies that exist and can be met, health
checks that run commands the images have, required secrets refused when missing."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from dee.devserver import search_attribute_args
from tests.compose.interpolation import InterpolationError, interpolate, interpolate_document
from tests.interpreter.helpers import ROOT
from workflows.search_attributes import ALL_KEYS

COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = json.loads((ROOT / "tests" / "compose" / "compose-spec.json").read_text())
REQUIRED = {
    "POSTGRES_PASSWORD",
    "TEMPORAL_DB_PASSWORD",
    "DEE_OWNER_DB_PASSWORD",
    "DEE_APP_DB_PASSWORD",
    "DEE_RETENTION_DB_PASSWORD",
    "DEE_WEBHOOKS_SECRET",
    "DEE_CODEC_KEYS",
    "DEE_CODEC_SERVER_TOKEN",
    "DEE_PRIVACY_MASTER_KEY",
}
ENV = {name: f"value-of-{name.lower()}" for name in REQUIRED}
# What each image can run in a health check (from the images' Dockerfiles): the DEE image
# is python:3.11-slim with DEE installed (no curl or wget); Temporal's server image ships
# its CLI; the postgres image its client tools.
IMAGE_COMMANDS = {
    "dee:": {"dee", "python"},
    "temporalio/server:": {"temporal", "tctl"},
    "postgres:": {"pg_isready", "psql"},
}
LONG_RUNNING = {"postgresql", "temporal", "temporal-ui", "codec-server", "worker", "webhooks"}
ONE_SHOT = {"temporal-schema", "temporal-setup", "migrate"}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


@cache
def _raw() -> Any:
    return yaml.safe_load(COMPOSE.read_text())


def _config(env: dict[str, str]) -> dict[str, Any]:
    doc = interpolate_document(_raw(), env)
    assert isinstance(doc, dict)
    return doc


def test_the_file_is_a_valid_compose_file_once_interpolated() -> None:
    doc = _config(ENV)
    errors = sorted(Draft7Validator(SCHEMA).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_what_compose_would_refuse() -> None:
    """The validator is not a no-op: misspelt keys and an unknown condition are errors."""
    validator = Draft7Validator(SCHEMA)
    doc = _config(ENV)
    doc["services"]["worker"]["restart_policy"] = "always"  # not a service key
    doc["services"]["webhooks"]["depends_on"]["migrate"]["condition"] = "service_ready"
    doc["servics"] = {}
    messages = [e.message for e in validator.iter_errors(doc)]
    assert len(messages) == 3, messages


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_each_required_secret_is_refused_when_unset_or_empty(missing: str) -> None:
    for env in ({k: v for k, v in ENV.items() if k != missing}, {**ENV, missing: ""}):
        with pytest.raises(InterpolationError, match=f"required variable {missing} "):
            _config(env)


def test_every_required_variable_is_listed() -> None:
    """A `:?` variable added to the file is added to REQUIRED (and so tested above)."""
    found = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", COMPOSE.read_text()))
    assert found == REQUIRED


def test_dependencies_exist_and_their_conditions_can_be_met() -> None:
    services = _config(ENV)["services"]
    for name, service in services.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on undefined service {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name}: {target} has no health check"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for long-running {target} to exit"
            else:
                assert condition == "service_started", (name, target, condition)


def test_long_running_services_restart_and_one_shots_do_not() -> None:
    services = _config(ENV)["services"]
    for name in LONG_RUNNING | {"mailpit"}:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name


def test_health_checks_run_commands_their_images_have() -> None:
    services = _config(ENV)["services"]
    checked = {name for name, s in services.items() if "healthcheck" in s}
    assert {"postgresql", "temporal", "codec-server", "worker", "webhooks"} <= checked
    for name in checked:
        check = services[name]["healthcheck"]
        test = check["test"]
        assert isinstance(test, list) and test[0] == "CMD", f"{name}: exec form, no shell needed"
        (commands,) = [
            c for p, c in IMAGE_COMMANDS.items() if services[name]["image"].startswith(p)
        ]
        assert test[1] in commands, f"{name}: {test[1]} is not in {services[name]['image']}"
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert DURATION.match(check[key]), f"{name}: {key} {check[key]}"
        if test[1] == "python":
            compile(test[3], f"{name} healthcheck", "exec")  # the one-liner is valid Python


def test_the_worker_serves_metrics_on_a_published_port_and_logs_json() -> None:
    worker = _config(ENV)["services"]["worker"]
    env = worker["environment"]
    host, port = env["DEE_METRICS_ADDRESS"].rsplit(":", 1)
    assert host == "0.0.0.0", "in a container: listen beyond its own loopback"
    assert port in [str(p) for p in worker["expose"]]
    assert f"127.0.0.1:{port}:{port}" in worker["ports"], "published on the host's loopback"
    assert env["DEE_LOG_FORMAT"] == "json"


def test_temporal_runs_the_production_image_set_up_by_one_shot_admin_tools() -> None:
    services = _config(ENV)["services"]
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert all("auto-setup" not in s.get("image", "") for s in services.values())
    for name in ("temporal-schema", "temporal-setup"):
        assert services[name]["image"].startswith("temporalio/admin-tools:")
        assert "./deploy:/deploy:ro" in services[name]["volumes"]
        script = services[name]["entrypoint"][-1].removeprefix("/deploy/")
        assert (ROOT / "deploy" / script).is_file()
    schema = (ROOT / "deploy" / "temporal-schema.sh").read_text()
    # both commands, in a loop over the two databases and their schema directories
    assert '--db "$db" setup-schema -v 0.0' in schema
    assert '--db "$db" update-schema -d "$SCHEMA_ROOT/$schema/versioned"' in schema
    assert '"${TEMPORAL_DBNAME}:temporal" "${TEMPORAL_VISIBILITY_DBNAME}:visibility"' in schema
    db_env = services["temporal-schema"]["environment"]
    assert db_env["TEMPORAL_DBNAME"] == services["temporal"]["environment"]["DBNAME"]
    visibility = services["temporal"]["environment"]["VISIBILITY_DBNAME"]
    assert db_env["TEMPORAL_VISIBILITY_DBNAME"] == visibility


def test_the_setup_step_registers_exactly_dee_s_search_attributes() -> None:
    script = (ROOT / "deploy" / "temporal-setup.sh").read_text()
    (listed,) = re.findall(r'^DEE_SEARCH_ATTRIBUTES="([^"]*)"', script, re.MULTILINE)
    # the same NAME=Type pairs the dev server registers
    assert listed.split() == search_attribute_args()[1::2]
    assert len(listed.split()) == len(ALL_KEYS)
    services = _config(ENV)["services"]
    for name in ("worker", "webhooks"):
        assert "DEE_SEARCH_ATTRIBUTES" not in services[name]["environment"]  # on, the default
        assert services[name]["depends_on"]["temporal-setup"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["temporal-setup"]["environment"]["TEMPORAL_RETENTION"] == "30d"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("a$$b", {}, "a$b"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-${B:-y}}", {}, "y"),
        ("${A:+on}", {"A": "1"}, "on"),
        ("$A/${A}", {"A": "v"}, "v/v"),
    ],
)
def test_interpolation_follows_compose(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize("text", ["${A", "${A:x}", "${1A}", "$ alone", "${}"])
def test_interpolation_refuses_malformed_references(text: str) -> None:
    with pytest.raises(InterpolationError):
        interpolate(text, {"A": "v"})
