"""The smallest workflow with scenario 4's shape, for ``bench.update_floor``.

A run that waits; an update that counts and, when asked, awaits a local activity
that does nothing before it answers (as the engine's ``ingest`` update awaits its
audit flush). A module of its own, importing only the SDK, so the workflow sandbox
can re-import it.
"""

from datetime import timedelta

from temporalio import activity, workflow

WORKFLOW_NAME = "UpdateFloorWorkflow"
NOOP = "update_floor_noop"


@activity.defn(name=NOOP)
async def noop(value: int) -> int:
    return value


@workflow.defn(name=WORKFLOW_NAME)
class UpdateFloorWorkflow:
    def __init__(self) -> None:
        self._updates = 0
        self._done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._updates

    @workflow.update
    async def bump(self, with_local_activity: bool) -> int:
        self._updates += 1
        if with_local_activity:
            await workflow.execute_local_activity(
                NOOP, self._updates, start_to_close_timeout=timedelta(seconds=10)
            )
        return self._updates

    @workflow.signal
    def finish(self) -> None:
        self._done = True
