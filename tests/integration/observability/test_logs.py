"""The JSON log formatter: one parseable line whatever the message holds, the run's
context from wherever the line comes."""

from __future__ import annotations

import json
import logging
import sys

from activities.metrics import LOG_CONTEXT, reason_code
from dee.observability import JsonFormatter


def _line(msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("dee.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    text = JsonFormatter().format(record)
    assert "\n" not in text
    parsed: dict[str, object] = json.loads(text)
    return parsed


def test_a_hostile_message_stays_one_json_line() -> None:
    line = _line('a "quoted"\nsecond line\x00 %s \u2028 {}', "\ud800")
    assert line["message"] == 'a "quoted"\nsecond line\x00 \ud800 \u2028 {}'
    assert line["level"] == "WARNING" and line["logger"] == "dee.test"
    assert str(line["time"]).endswith("+00:00")


def test_the_run_context_comes_from_the_workflow_the_activity_or_the_sdk() -> None:
    own = {"run_id": "run-1", "step": "mail", "tenant": "acme"}
    assert {k: _line("x", dee=own)[k] for k in own} == own
    token = LOG_CONTEXT.set({"run_id": "run-2", "step": "", "tenant": "globex"})
    try:
        line = _line("x")
    finally:
        LOG_CONTEXT.reset(token)
    assert (line["run_id"], line["tenant"], "step" in line) == ("run-2", "globex", False)
    line = _line("x", temporal_workflow={"workflow_id": "run-3", "run_id": "temporal-id"})
    assert line["run_id"] == "run-3"
    assert "run_id" not in _line("x")


def test_an_exception_is_its_type_and_message_only() -> None:
    try:
        raise ValueError("bad thing")
    except ValueError:
        record = logging.LogRecord("dee", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["error"] == "ValueError: bad thing" and "Traceback" not in json.dumps(line)


def test_a_reason_is_logged_as_its_code_only() -> None:
    assert reason_code("smtp_550: <ann@example.com> no such user") == "smtp_550"
    assert reason_code(None) == "" and len(reason_code("x" * 500)) == 80
