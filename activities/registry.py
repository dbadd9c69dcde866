"""The worker's activities, bound to their dependencies under the contract names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities import contracts as c
from activities.bookkeeping import Bookkeeper
from activities.policy import PolicyChecker
from activities.sending import Sender


def build_activities(
    bookkeeper: Bookkeeper, checker: PolicyChecker, sender: Sender
) -> list[Callable[..., Any]]:
    """One callable per activity name in ``activities.contracts``."""

    @activity.defn(name=c.APPEND_AUDIT)
    async def append_audit(batch: c.AuditBatch) -> c.AuditAck:
        return c.AuditAck(await bookkeeper.persist(batch))

    @activity.defn(name=c.CHECK_POLICIES)
    async def check_policies(req: c.PolicyRequest) -> c.PolicyResponse:
        return await checker.check(req)

    @activity.defn(name=c.SEND_EMAIL)
    async def send_email(req: c.EmailRequest) -> c.SendResponse:
        return await sender.send_email(req)

    @activity.defn(name=c.SEND_VOICE)
    async def send_voice(req: c.VoiceRequest) -> c.SendResponse:
        return await sender.send_voice(req)

    return [append_audit, check_policies, send_email, send_voice]
