"""A reply from someone other than the contact, and the patch that made it not count.

The receiver marks such a reply ``fromContact: false``; since ``REPLY_SENDERS`` the
run's ``hasReply`` skips it. A history recorded before (where an API caller could have
put that flag on a reply, and the reply counted) must replay with the old answer, and
a run recorded since must carry the patch marker and take the new one.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from activities import contracts as c
from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history
from tests.integration.replay.recording import DAY, Scenario, answered, record, sleep
from workflows.patches import DURABLE, GOOGLE_CEL, REPLY_SENDERS
from workflows.plan_run import PlanRunWorkflow

STRANGER = Scenario(
    "stranger-reply",
    actions=[
        sleep(3_600),
        answered("r-x", "email.replied", "intro-email", text="Who?", fromContact=False),
        sleep(4 * DAY),
    ],
)


@workflow.defn(name=c.WORKFLOW_NAME)
class BeforeTheCheck(PlanRunWorkflow):
    """The workflow as it was: every reply counted, and no patch was asked for."""

    def _check_reply_senders(self) -> None:
        pass

    @workflow.run
    async def run(self, raw: Any) -> c.RunResult:
        return await super().run(raw)


def _entered(chain: list[dict[str, Any]]) -> list[str]:
    return [e["step_id"] for e in chain if e["action"] == "enter"]


def _exit(chain: list[dict[str, Any]]) -> str | None:
    """The outcome of the exit rule that ended the run, if one did."""
    return next((e["outcome"] for e in chain if e["action"] == "exit"), None)


def _patches(history: Any) -> list[str]:
    """The ids of the patches the history's markers record, in order."""
    ids = []
    for e in history.events:
        marker = e.marker_recorded_event_attributes
        if e.HasField("marker_recorded_event_attributes") and marker.marker_name == "core_patch":
            ids.append(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


async def test_a_run_since_the_check_ignores_the_strangers_reply_and_replays(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(env, STRANGER)
    assert "end-sequence" not in _entered(chain) and _exit(chain) is None
    assert "cold-follow-up" in _entered(chain)
    assert _patches(history) == [DURABLE, GOOGLE_CEL, REPLY_SENDERS]
    replayer = Replayer(workflows=[PlanRunWorkflow], workflow_runner=UnsandboxedWorkflowRunner())
    await replayer.replay_workflow(history)  # raises on non-determinism
    result = replay_run(await decode_history(history, source="stranger"))
    assert result.identical, result.as_dict()["diffs"]


async def test_a_history_from_before_the_check_replays_with_every_reply_counted(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(
        env, STRANGER, workflows=[BeforeTheCheck], runner=UnsandboxedWorkflowRunner()
    )
    assert _exit(chain) == "replied"  # the old answer: it counted
    assert _patches(history) == [DURABLE, GOOGLE_CEL]
    replayer = Replayer(workflows=[PlanRunWorkflow], workflow_runner=UnsandboxedWorkflowRunner())
    await replayer.replay_workflow(history)  # today's code keeps the old answer


async def test_a_run_without_another_senders_reply_carries_no_marker(
    env: WorkflowEnvironment,
) -> None:
    """The patch is asked lazily: ordinary runs cost no extra history event."""
    contact = Scenario(
        "contact-reply",
        actions=[
            sleep(3_600),
            answered("r-1", "email.replied", "intro-email", fromContact=True),
            sleep(4 * DAY),
        ],
    )
    history, chain = await record(env, contact)
    assert _exit(chain) == "replied"
    assert _patches(history) == [DURABLE, GOOGLE_CEL]  # the flip's, asked at every start
