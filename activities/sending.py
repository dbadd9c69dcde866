"""Channel sends: render, then hand a provider-neutral message to the configured port.

Every provider call goes through the send ledger (``activities.ledgered``): its
intent and attempt are recorded before the call, its outcome after, so an attempt
whose answer was lost is reported ``unknown`` (never ``failed``) and is never sent
again blindly. Every failure comes back as a result with a reason the run records,
never as a silent retry or a fallback. The provider gets a Message-ID / idempotency
key derived from run, step and visit (the Message-ID also from the tenant, keyed with
the webhook signing key, so no outsider can name it in a forged reply): the ledger's
key, and what reconciliation asks the provider about.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from activities.bookkeeping import Bookkeeper
from activities.contracts import EmailRequest, SendResponse, VoiceRequest
from activities.ledgered import LOOKUP_SLACK, LedgeredSend, heartbeating
from adapters.addresses import AddressError, canonical_email, canonical_phone
from adapters.channels import (
    ChannelError,
    EmailChannel,
    EmailMessage,
    SendLookup,
    SendReceipt,
    VoiceCall,
    VoiceChannel,
    idempotency_key,
    message_id,
)
from adapters.channels.callbacks import voice_status_url
from adapters.privacy import Pseudonyms
from adapters.storage import LedgerRow, SendKey, SendLedger, StorageError
from adapters.template_pool import TemplateRenderer
from adapters.templates import TemplateError, template_context
from adapters.tracking import EmailTracking, SendContext

# After a send the budget reservation is settled: the actual cost committed, or the
# estimate released when nothing was sent. (run_id, step_id, visit, actual or None)
Settle = Callable[[str, str, int, Decimal | None], Awaitable[object]]
log = logging.getLogger(__name__)
# Below the workflow's 60 s start-to-close, so a slow provider is reported by this
# activity (as an unknown outcome) rather than by a timeout that hides what happened.
SEND_DEADLINE_SECONDS = 45
DEADLINE_REASON = (
    f"send_deadline: no answer from the provider within {SEND_DEADLINE_SECONDS} s; "
    "the message may or may not have been sent (a retry reuses the same Message-ID)"
)


async def _deliver(send: Awaitable[SendReceipt], persisted: int) -> SendResponse:
    """Await one provider call within the deadline; every failure becomes a result."""
    try:
        async with asyncio.timeout(SEND_DEADLINE_SECONDS):
            receipt = await send
    except TimeoutError:
        return SendResponse("failed", persisted, reason=DEADLINE_REASON)
    except ValueError as exc:  # the message itself is unacceptable (a bad address)
        return SendResponse("failed", persisted, reason=f"invalid_message: {exc}")
    except ChannelError as exc:
        return SendResponse("failed", persisted, reason=f"{exc.code}: {exc.message}")
    return _from_receipt(receipt, persisted)


def _from_receipt(receipt: SendReceipt, persisted: int) -> SendResponse:
    return SendResponse(
        "delivered" if receipt.accepted else "failed",
        persisted,
        reason=None if receipt.accepted else "provider_rejected",
        provider=receipt.provider,
        provider_message_id=receipt.provider_message_id,
        cost=str(receipt.estimated_cost),
    )


def _template_failure(exc: Exception, persisted: int) -> SendResponse:
    code = getattr(exc, "code", "template_render_failed")
    return SendResponse("failed", persisted, reason=f"{code}: {exc}")


class Sender:
    def __init__(
        self,
        bookkeeper: Bookkeeper,
        templates: TemplateRenderer,
        email: EmailChannel,
        voice: VoiceChannel,
        *,
        ledger: SendLedger,
        sender_address: str,
        message_domain: str,
        settle: Settle | None = None,
        webhooks_url: str | None = None,
        tracking: EmailTracking | None = None,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        # A provider's error can quote the address ("550 <ann@...>: no such user"):
        # with ``pseudonyms``, reasons are redacted before the ledger and the run see them.
        self._pseudonyms = pseudonyms
        self._settle_fn = settle
        self._ledgered = LedgeredSend(ledger)
        self._tracking = tracking
        # The public base URL voice providers report call progress to; None sends
        # no status callback (the call's outcome then arrives only by ingest_event).
        self._webhooks_url = webhooks_url
        self._books = bookkeeper
        self._templates = templates
        self._email = email
        self._voice = voice
        self._sender = sender_address
        self._domain = message_domain

    def provider(self, channel: str) -> str:
        """The configured provider's name for ``channel`` (a metric label)."""
        return {"email": self._email.name, "voice": self._voice.name}[channel]

    def _redacted(self, contact: Mapping[str, Any], response: SendResponse) -> SendResponse:
        if self._pseudonyms is None or response.reason is None:
            return response
        return replace(response, reason=self._pseudonyms.redactor(contact).text(response.reason))

    async def send_email(self, req: EmailRequest) -> SendResponse:
        async with heartbeating():
            response = self._redacted(req.contact, await self._send_email(req))
            await self._settle(req.run_id, req.step_id, req.visit, response)
        return response

    async def _send_email(self, req: EmailRequest) -> SendResponse:
        persisted = await self._books.persist(req.batch)
        to = req.contact.get("email")
        if not isinstance(to, str) or not to:
            return SendResponse(
                "failed", persisted, reason="contact_has_no_email: contact.email is missing"
            )
        try:  # the gate allowed this address; it is sent to in the same canonical form
            to = canonical_email(to)
        except AddressError as exc:
            return SendResponse("failed", persisted, reason=f"invalid_address: contact.email {exc}")
        cmd = req.command()
        try:
            rendered = await self._templates.render_email(
                cmd.template_id, cmd.subject, template_context(req.variables, req.contact)
            )
        except (TemplateError, ValueError) as exc:
            return _template_failure(exc, persisted)
        send = SendContext(
            req.tenant, req.run_id, req.step_id, req.visit, str(req.contact.get("id", "")),
            cmd.track_opens, cmd.track_clicks,
        )  # fmt: skip
        tracking, email = self._tracking, self._email
        msg_id = (  # keyed: a reply can name it only if it saw it (tracking always on)
            message_id(req.run_id, req.step_id, req.visit, self._domain)
            if tracking is None
            else tracking.message_id(send, self._domain)
        )

        async def deliver(recorded_id: str) -> SendResponse:
            message = EmailMessage(
                to=to,
                sender=self._sender,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                reply_to=cmd.reply_to,
                message_id=recorded_id,
                headers={"X-DEE-Run": req.run_id, "X-DEE-Step": req.step_id},
            )
            if tracking is not None:  # pixel, links, List-Unsubscribe; Message-ID index
                try:
                    message = await tracking.prepare(message, send)
                except StorageError as exc:  # unindexed, a reply could not be matched
                    return SendResponse("failed", persisted, reason=f"message_index: {exc}")
            return self._redacted(req.contact, await _deliver(email.send(message), persisted))

        async def find(row: LedgerRow) -> SendLookup:
            # The id the earlier attempt went out with, whatever derives it today.
            return await email.find_sent(row.message_key, to, row.intent_at - LOOKUP_SLACK)

        return await self._ledgered.send(
            SendKey(req.run_id, req.step_id, req.visit),
            channel="email",
            provider=email.name,
            message_key=msg_id,
            resend=req.resend,
            persisted=persisted,
            call=deliver,
            lookup=find,
        )

    async def send_voice(self, req: VoiceRequest) -> SendResponse:
        async with heartbeating():
            response = self._redacted(req.contact, await self._send_voice(req))
            await self._settle(req.run_id, req.step_id, req.visit, response)
        return response

    async def _send_voice(self, req: VoiceRequest) -> SendResponse:
        persisted = await self._books.persist(req.batch)
        to = req.contact.get("phone")
        if not isinstance(to, str) or not to:
            return SendResponse(
                "failed", persisted, reason="contact_has_no_phone: contact.phone is missing"
            )
        try:
            to = canonical_phone(to, req.contact.get("country"))
        except AddressError as exc:
            return SendResponse("failed", persisted, reason=f"invalid_number: contact.phone {exc}")
        cmd = req.command()
        try:  # the context too: a variable named ``contact`` is a template failure
            context = template_context(req.variables, req.contact)
            script = await self._templates.render_voice(cmd.script_id, context)
            voicemail = (
                await self._templates.render_voice(cmd.voicemail_message_id, context)
                if cmd.voicemail_message_id
                else None
            )
        except (TemplateError, ValueError) as exc:
            return _template_failure(exc, persisted)
        call = VoiceCall(
            to=to,
            caller_id=cmd.caller_id,
            script_text=script,
            max_duration_seconds=cmd.max_duration_seconds,
            detect_voicemail=cmd.detect_voicemail,
            voicemail_text=voicemail,
            idempotency_key=idempotency_key(req.run_id, req.step_id, req.visit),
            status_callback_url=(
                None
                if self._webhooks_url is None
                else voice_status_url(
                    self._webhooks_url, self._voice.name, req.run_id, req.step_id, req.visit
                )
            ),
            # The webhook key: what the status URL carries is signed with it (Vonage).
            callback_key=None if self._tracking is None else self._tracking.secret,
        )
        voice = self._voice

        async def placed() -> SendResponse:
            return self._redacted(req.contact, await _deliver(voice.place_call(call), persisted))

        async def find(row: LedgerRow) -> SendLookup:
            return await voice.find_call(
                call.idempotency_key, to, call.caller_id, row.intent_at - LOOKUP_SLACK
            )

        return await self._ledgered.send(
            SendKey(req.run_id, req.step_id, req.visit),
            channel="voice",
            provider=voice.name,
            message_key=call.idempotency_key,
            resend=req.resend,
            persisted=persisted,
            call=lambda _key: placed(),
            lookup=find,
        )

    async def _settle(self, run_id: str, step_id: str, visit: int, response: SendResponse) -> None:
        if self._settle_fn is None or response.status == "unknown":
            return  # unknown: the estimate stays reserved until the send is known
        actual = (
            Decimal(response.cost) if response.status == "delivered" and response.cost else None
        )
        if response.status == "delivered" and actual is None:
            actual = Decimal(0)
        try:
            await self._settle_fn(run_id, step_id, visit, actual)
        except Exception:  # the send's outcome stands; an unsettled estimate stays reserved
            log.exception("budget settlement failed for %s/%s#%s", run_id, step_id, visit)
