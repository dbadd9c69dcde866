"""``dee plan schema`` prints the model's JSON Schema (the schema itself is checked,
without the CLI, in ``tests/interpreter/test_schema.py``)."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from interpreter.plan_schema import plan_json_schema

from .test_cli import dee


def test_the_cli_prints_the_schema_and_it_is_a_valid_2020_12_schema() -> None:
    schema = plan_json_schema()
    result = dee("plan", "schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == schema
    Draft202012Validator.check_schema(schema)
