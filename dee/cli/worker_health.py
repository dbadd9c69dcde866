"""``dee worker --health-check``: is this host's worker polling DEE's task queue?

A container's health check (docker-compose.yml) runs in the worker's container, so
"this host" is that container. The worker process being alive is not enough (it may have
lost Temporal, or be stuck starting); Temporal's own record of who polls the queue is
what says the worker can take work. The SDK's default worker identity is
``PID@HOSTNAME``, so a poller whose identity ends with this host's name is ours.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from dee.config import EngineConfig
from dee.connection import connect
from dee.errors import EngineError

# A worker re-polls as each long poll (about a minute) ends, which refreshes its poller
# record; Temporal keeps a record for five minutes after the last poll. Older than this,
# the worker has stopped polling.
STALE_AFTER = timedelta(seconds=150)

_KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def check_worker(config: EngineConfig, host: str | None = None) -> str:
    """What polls ``config``'s task queue from ``host`` (this one by default).

    Raises:
        EngineError: no recent workflow or activity poller from ``host``, or Temporal
            cannot be reached.
    """
    host = host or socket.gethostname()
    client = await connect(config)
    now = datetime.now(UTC)
    found = []
    for kind, queue_type in _KINDS.items():
        request = DescribeTaskQueueRequest(
            namespace=config.temporal.namespace,
            task_queue=TaskQueue(name=config.task_queue),
            task_queue_type=queue_type,
        )
        answer = await client.workflow_service.describe_task_queue(request)
        ours = [
            p.identity
            for p in answer.pollers
            if p.identity.endswith(f"@{host}")
            and now - p.last_access_time.ToDatetime(UTC) <= STALE_AFTER
        ]
        if not ours:
            raise EngineError(
                [
                    f"no worker on {host} has polled task queue {config.task_queue} for "
                    f"{kind} tasks in the last {STALE_AFTER.seconds} s"
                ]
            )
        found += ours
    return f"worker healthy: {', '.join(sorted(set(found)))} polls {config.task_queue}"
