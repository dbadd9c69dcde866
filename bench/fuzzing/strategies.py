"""Every target's strategy, by target name (``cases``, ``calls``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.fuzzing.calls import cli_calls, webhook_requests
from bench.fuzzing.cases import (
    cel_cases,
    contact_cases,
    event_cases,
    plans,
    suppression_cases,
    template_cases,
)

STRATEGIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "plan": plans(),
    "cel": cel_cases(),
    "template": template_cases(),
    "contact": contact_cases(),
    "event": event_cases(),
    "suppression": suppression_cases(),
    "cli": cli_calls(),
    "webhook": webhook_requests(),
}
