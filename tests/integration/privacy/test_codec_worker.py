"""A start whose payload is forged (an unknown key id) or truncated reaches a real
worker: the workflow task fails, naming the key, and the plan never runs on garbage
(no activity, no send, no run recorded)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.converter import DataConverter

from activities import contracts as c
from adapters.codec import EncryptionCodec
from adapters.codec.aesgcm import KEY_ID
from dee.config import EngineConfig
from dee.connection import payload_codec
from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.privacy.test_erasure import CONTACT, VARS, config, engine, one_email, server
from tests.integration.waiting import until

__all__ = ["config", "engine", "server"]


class _Forging(EncryptionCodec):
    """Encrypts as the worker does, then breaks every payload the way ``how`` says."""

    how = "forged-key-id"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in await super().encode(payloads):
            if self.how == "forged-key-id":
                p.metadata[KEY_ID] = b"forged-2099"
            else:
                p.data = p.data[: len(p.data) // 2]
            out.append(p)
        return out


@pytest.mark.parametrize("how", ["forged-key-id", "truncated"])
async def test_a_forged_or_truncated_start_fails_the_task_and_runs_nothing(
    how: str, engine: Engine, config: EngineConfig, mail: SmtpServer
) -> None:
    ours = payload_codec(config)  # the worker's keys (the embedded key file)
    codec = _Forging(ours.ring, key_file=ours.key_file)
    codec.how = how
    forger = await Client.connect(
        config.temporal.address,
        data_converter=dataclasses.replace(DataConverter.default, payload_codec=codec),
    )
    received = len(mail.received)
    run_input = c.RunInput(
        run_id=f"run-forged-{how}", tenant="default", plan=one_email().to_document(),
        plan_hash=one_email().content_hash, contact=dict(CONTACT), variables=dict(VARS),
    )  # fmt: skip
    handle = await forger.start_workflow(
        c.WORKFLOW_NAME, run_input, id=run_input.run_id, task_queue=config.task_queue
    )
    try:
        failed = await until(
            lambda: _events(handle),
            lambda events: (
                EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in [e.event_type for e in events]
            ),
            what=f"workflow task of {run_input.run_id} failed",
            timeout=60,
            every=0.2,
        )
        kinds = [e.event_type for e in failed]
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
        [failure] = [
            e.workflow_task_failed_event_attributes.failure.message
            for e in failed
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ][:1]
        wanted = "'forged-2099'" if how == "forged-key-id" else "fails authentication"
        assert wanted in failure, failure
        assert len(mail.received) == received
        assert [r.run_id for r in await engine.list_runs()] == []
    finally:
        await handle.terminate("test over")


async def _events(handle):  # type: ignore[no-untyped-def]
    return [e async for e in handle.fetch_history_events()]
