"""bench.persist_cost: the per-event audit transaction against the driver's floor.

Not timed: the figures come from running the module. This checks, on PostgreSQL,
that both sides stored every entry they were timed on (the floor is not timing
statements that did nothing) and that the report has both sides' percentiles.
"""

from __future__ import annotations

from bench.persist_cost import WARM_UP, measure
from tests.integration.databases import require_postgres


async def test_both_sides_store_every_entry_and_report_their_percentiles() -> None:
    await require_postgres()
    result = await measure(30)
    assert result["stored_entries"] == {"persist": 30 + WARM_UP, "driver_floor": 30 + WARM_UP}
    for side in ("persist", "driver_floor"):
        figures = result[side]
        assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert result["overhead_p50_ms"] == round(
        result["persist"]["p50_ms"] - result["driver_floor"]["p50_ms"], 2
    )
