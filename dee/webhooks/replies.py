"""Whether a reply is the contact's: its ``From`` against the address the message went to.

A reply is matched to its send by the Message-ID it names, and anyone the message
reached (a forwarded thread, a colleague in copy, a mailing list) can name it. So the
receiver records who wrote: ``fromContact`` is ``True`` only when the reply's sender is
the address the send went to (compared by ``adapters.tracking.addresses``: one
mailbox, case-folded, as a keyed digest). Plans' ``hasReply`` counts only those.

The index holds that digest for every message sent since it was added. A message
indexed before has none; its run's contact address is then read from the run's start
input (the first event of its Temporal history), so the replies to messages sent
before the upgrade are judged the same way.

The ``From`` header is only as trustworthy as the inbound provider's checks of the
sending domain (SPF, DKIM, DMARC): this tells a stranger's honest reply from the
contact's, not a forged ``From`` from a real one.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities import contracts as c
from adapters.tracking import SentMessage
from adapters.tracking.addresses import address_digest, same_address
from dee.webhooks.auth import Refused
from dee.webhooks.receiver import Receiver

log = logging.getLogger(__name__)


async def from_contact(receiver: Receiver, sent: SentMessage, sender: str) -> bool:
    """Whether ``sender`` (a ``From`` value) is the address ``sent`` went to.

    Raises:
        Refused: 503 when the key or (for a message indexed before recipient digests)
            the run's history cannot be read now; the provider retries.
    """
    key = await receiver.signing_key()
    digest = sent.recipient_digest
    if digest is None:
        address = await _contact_address(receiver.engine.client, sent.run_id)
        digest = None if address is None else address_digest(key, address)
    return digest is not None and same_address(key, sender, digest)


async def _contact_address(client: Client, run_id: str) -> str | None:
    """The email address in the run's start input; ``None`` when there is none to read."""
    handle = client.get_workflow_handle(run_id)
    try:
        async for event in handle.fetch_history_events(page_size=1):
            if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                return None
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            break
        else:
            return None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None  # no such run: the event's delivery answers for it
        raise Refused(503, f"cannot read run {run_id!r} to check the reply's sender") from None
    try:
        (run_input,) = await client.data_converter.decode(list(payloads), [c.RunInput])
    except Exception:  # an input this receiver cannot read: the sender stays unproven
        log.warning("run %s: start input unreadable; reply not taken as the contact's", run_id)
        return None
    email = run_input.contact.get("email") if isinstance(run_input, c.RunInput) else None
    return email if isinstance(email, str) else None


__all__ = ["from_contact"]
