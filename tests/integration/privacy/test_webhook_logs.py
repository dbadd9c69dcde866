"""A refused webhook never writes the contact's address to the logs: the refusal's
message (answered to the provider, who sent the address) is logged with addresses and
numbers masked (docs/privacy.md: log lines never hold contact values)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from tests.integration.channels.standins.postmark_api import PostmarkStandIn
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, two_emails
from tests.integration.webhooks.test_postmark_events import AUTH, EVENTS, config, postmark

__all__ = ["config", "postmark"]


async def test_a_refused_bounce_logs_no_address(
    engine: Engine,
    env: WorkflowEnvironment,
    postmark: PostmarkStandIn,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [sent] = postmark.sent
    bounce: dict[str, Any] = {
        "RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        # Two mailboxes: no suppression can be recorded, and the refusal quotes them.
        "Email": "Ada Lovelace <ada.private@example.com>, +1 555 555 0199",
        "Metadata": sent["Metadata"],
    }  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="dee.webhooks"):  # whatever ran before
        answer = await receiver.http.post(EVENTS, json=bounce, headers=AUTH)
    assert answer.status_code == 422, answer.text
    ours = [r for r in caplog.records if r.name.startswith("dee.")]  # not the test's client
    logged = "\n".join(r.getMessage() for r in ours).lower()
    assert "refused post /webhooks/email/events/postmark: 422" in logged
    assert "ada.private@example.com" not in logged
    assert "555 555 0199" not in logged
