"""The CLI's one JSON casing (``dee.cli.common.to_json``): camelCase keys at every depth,
the user's own data and recorded audit details as given; and the checker
``test_cli_json`` runs over every ``--json`` output catches a key that slips through."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dee.cli.common import camel, to_json
from tests.integration.runtime.test_cli_json import keys_with_underscores


@dataclass(frozen=True)
class _Row:
    run_id: str
    exit_rule: dict[str, Any] | None
    created_at: datetime
    limit: Decimal


def test_keys_are_camel_case_at_every_depth_and_user_data_is_kept() -> None:
    row = _Row("r-1", {"rule_event": "x", "event": {"step_id": "s"}},
               datetime(2026, 1, 2, 3, 4, tzinfo=UTC), Decimal("250.00"))  # fmt: skip
    shown = json.loads(
        to_json(
            {
                "rows": [row],
                "contact": {"first_name": "Ann", "nested_map": {"a_b": 1}},
                "variables": {"sender_name": "Sam"},
                "detail": {"prev_hash": "kept"},
                "data": {"user_agent": "x"},
                "period_start": date(2026, 1, 1),
            }
        )
    )
    assert shown == {
        "rows": [
            {
                "runId": "r-1",
                "exitRule": {"ruleEvent": "x", "event": {"stepId": "s"}},
                "createdAt": "2026-01-02T03:04:00+00:00",
                "limit": "250",
            }
        ],
        "contact": {"first_name": "Ann", "nested_map": {"a_b": 1}},
        "variables": {"sender_name": "Sam"},
        "detail": {"prev_hash": "kept"},
        "data": {"user_agent": "x"},
        "periodStart": "2026-01-01",
    }
    assert list(keys_with_underscores(shown)) == []


def test_the_checker_finds_a_snake_case_key_anywhere_outside_user_data() -> None:
    assert list(keys_with_underscores({"a": [{"b": {"run_id": 1}}], "contact": {"x_y": 1}})) == [
        "$.a[0].b.run_id"
    ]
    assert [camel(n) for n in ("run_id", "runId", "a_b_c", "x")] == ["runId", "runId", "aBC", "x"]
