"""The ``observability`` settings: read from the file and ``DEE_*`` variables, bad values
refused naming what was wrong, and a worker that cannot serve them refused at start-up."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

from dee.cli.main import run as run_cli
from dee.config import load_config
from dee.config_observability import ObservabilityConfig
from dee.errors import DocumentError
from dee.observability import TracingUnavailable, tracing_for


def test_the_section_comes_from_the_file_and_variables_override_it(tmp_path: Path) -> None:
    file = tmp_path / "dee.yaml"
    file.write_text(
        "observability: {metricsAddress: '0.0.0.0:9464', logFormat: json, "
        "failedRefreshSeconds: 5}\n"
    )
    obs = load_config(file, env={}).observability
    assert (obs.metrics_address, obs.log_format, obs.failed_refresh_seconds) == (
        "0.0.0.0:9464", "json", 5.0,
    )  # fmt: skip
    env = {"DEE_METRICS_ADDRESS": "[::1]:9100", "DEE_LOG_LEVEL": "WARNING"}
    obs = load_config(file, env=env).observability
    assert (obs.metrics_address, obs.log_level, obs.log_format) == ("[::1]:9100", "WARNING", "json")
    assert load_config(env={}).observability == ObservabilityConfig()  # off by default


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DEE_METRICS_ADDRESS", "9464", "should match pattern"),
        ("DEE_METRICS_ADDRESS", "host:port", "should match pattern"),
        ("DEE_METRICS_ADDRESS", "127.0.0.1:70000", "port 70000 is not between 1 and 65535"),
        ("DEE_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("DEE_LOG_LEVEL", "LOUD", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(DocumentError) as caught:
        load_config(env={variable: value})
    [line] = caught.value.lines
    assert line.startswith("configuration ") and says in line, line
    assert variable in line or "observability" in line


def test_tracing_without_its_packages_is_refused_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A module set to None in sys.modules fails to import, as an absent package does.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(TracingUnavailable) as caught:
        tracing_for(ObservabilityConfig(otlp_endpoint="http://127.0.0.1:4318"))
    assert "pip install 'dee[tracing]'" in str(caught.value)
    assert tracing_for(ObservabilityConfig()).interceptors == []  # off: nothing imported


def test_a_worker_whose_metrics_port_is_taken_exits_1_naming_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [k for k in os.environ if k.startswith("DEE_")]:
        monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        monkeypatch.setenv("DEE_METRICS_ADDRESS", address)
        monkeypatch.setenv("DEE_DATA_DIR", str(tmp_path))
        try:
            with pytest.raises(SystemExit) as exited:
                run_cli(["worker"])  # refused before it dials Temporal
        finally:  # the command set up the process's logging: put the test's back
            root.handlers[:] = handlers
            root.setLevel(level)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"observability.metricsAddress {address}: cannot serve metrics" in err
    assert "Address already in use" in err and "Traceback" not in err
