"""bench.update_floor: the SDK-only floor under scenario 4, on a real dev server.

Not timed: the figures come from running the module. This checks that each variant
does what its name says (the local activity is awaited and recorded) and that the
report has every variant's percentiles.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor_workflow import UpdateFloorWorkflow, noop
from bench.update_floor import VARIANTS, _latencies, run
from dee.devserver import dev_server


async def _markers(client: Client, workflow_id: str) -> int:
    count = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        count += event.HasField("marker_recorded_event_attributes")
    return count


async def test_only_the_local_activity_variants_await_a_local_activity() -> None:
    async with dev_server(ui=False) as dev:
        client = await Client.connect(dev.address)
        markers = {}
        for with_la in (False, True):
            queue = f"floor-test-{uuid.uuid4().hex[:6]}"
            async with Worker(
                client, task_queue=queue, workflows=[UpdateFloorWorkflow], activities=[noop]
            ):
                latencies = await _latencies(client, queue, 20, with_la)
            assert len(latencies) == 18  # the first tenth warms up, uncounted
            markers[with_la] = await _markers(client, f"{queue}-0")
    # Run 0 took updates 0 and 10: one local-activity marker each, or none.
    assert markers == {False: 0, True: 2}


async def test_the_report_has_every_variant_s_percentiles() -> None:
    result = await run(10)
    for name in VARIANTS:
        figures = result[name]
        assert figures["updates_counted"] == 9
        assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"]
    assert result["target_p99_ms"] == 50.0
