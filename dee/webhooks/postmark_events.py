"""Postmark's event webhook: delivery, bounce, spam complaint, open and click.

The send is named by the ``Metadata.dee_ref_*`` chunks, the signed reference every message carries
(``X-DEE-Ref``), which the Postmark adapter passes as metadata. A hard bounce or a
spam complaint also suppresses the address on the email channel *before* the event
is ingested, so the policy gate denies the next email to it even if the run is not
waiting on the event; the suppression row (reason and source name the provider
event) and the event's data, which repeats it, are the audit trail.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.channels.postmark import ref_from_metadata
from adapters.policy import PolicyError
from adapters.tracking import InvalidToken, verify
from dee.webhooks.auth import Refused, check_basic_auth, forbidden
from dee.webhooks.parsing import MAX_EVENT_BYTES, bad_request, json_object, text_field
from dee.webhooks.receiver import Receiver, accepted, check_size

POSTMARK_EVENTS_ROUTE = "/webhooks/email/events/postmark"
# Postmark's RecordType -> the canonical event type.
POSTMARK_TYPES = {
    "Delivery": "email.delivered",
    "Bounce": "email.bounced",
    "SpamComplaint": "email.complained",
    "Open": "email.opened",
    "Click": "email.clicked",
}
# Bounce types that say the address will never accept mail from us (Postmark itself
# deactivates the recipient for these); soft bounces and transient failures do not.
SUPPRESSING_BOUNCES = frozenset({"HardBounce", "BadEmailAddress", "SpamComplaint"})


def suppression_cause(record_type: str, body: dict[str, Any]) -> str | None:
    """``source`` for the suppression this event calls for, or ``None`` for none."""
    if record_type == "SpamComplaint":
        return "postmark-spam-complaint"
    if record_type == "Bounce" and body.get("Type") in SUPPRESSING_BOUNCES:
        return "postmark-hard-bounce"
    return None


def _suppression(record_type: str, source: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the suppression will record (the entry's fields, the address as given)."""
    kind = record_type if record_type != "Bounce" else f"Bounce {body.get('Type')}"
    description = body.get("Description")
    reason = f"postmark {kind}" + (f": {description}" if isinstance(description, str) else "")
    return {
        "scope": "channel",
        "scopeKey": "email",
        "contactKey": text_field(body, "Email", line=True),
        "reason": reason[:1000],
        "source": source,
    }


async def _suppress(receiver: Receiver, run_id: str, wanted: dict[str, Any]) -> dict[str, Any]:
    record = await receiver.run(run_id)
    address = wanted["contactKey"]
    try:
        entry = await receiver.engine.policies.admin.suppress(
            record.tenant, "channel", "email", address, wanted["reason"], wanted["source"]
        )
    except PolicyError as exc:
        raise Refused(422, f"cannot record the suppression of {address!r}: {exc}") from None
    return {
        "scope": entry.scope,
        "scopeKey": entry.scope_key,
        "contactKey": entry.contact_key,
        "reason": entry.reason,
        "source": entry.source,
    }


async def postmark_events(request: Request) -> Response:
    receiver: Receiver = request.app.state.receiver
    hooks = receiver.config.webhooks
    check_basic_auth(request.headers.get("authorization"), hooks.username, hooks.password)
    body, _raw = await json_object(request, MAX_EVENT_BYTES)
    record_type = text_field(body, "RecordType", line=True)
    event_type = POSTMARK_TYPES.get(record_type)
    if event_type is None:
        known = ", ".join(sorted(POSTMARK_TYPES))
        raise bad_request(f"RecordType {record_type!r} is not one of {known}")
    token = ref_from_metadata(body.get("Metadata"))
    if token is None:
        raise bad_request("Metadata.dee_ref_0 is missing: the event names no DEE send")
    try:
        ref = verify(await receiver.signing_key(), "ref", token)
    except InvalidToken as exc:
        raise forbidden(f"invalid Metadata.dee_ref_*: {exc}") from None
    provider_id = body.get("ID") or body.get("MessageID") or ""
    event_id = f"postmark:{record_type}:{provider_id}:{body.get('ReceivedAt', '')}"
    data: dict[str, Any] = {"provider": "postmark", "messageId": str(body.get("MessageID", ""))}
    for key in ("Type", "Description", "OriginalLink", "DeliveredAt", "BouncedAt"):
        if isinstance(body.get(key), str):
            data[key[0].lower() + key[1:]] = body[key]
    source = suppression_cause(record_type, body)
    if source is not None:
        wanted = _suppression(record_type, source, body)
        # Refused now if the event will be (a long Description): a suppression stored for
        # an event then refused would leave the run without it, and Postmark stops retrying
        # a 413. Room for the stored key, the address canonicalised (lower case can be
        # longer than the given: "İ").
        room = {**wanted, "contactKey": wanted["contactKey"] * 2}
        check_size(event_id, {**data, "suppressed": room})
        data["suppressed"] = await _suppress(receiver, ref.run_id, wanted)
    event = await receiver.ingest(ref.run_id, ref.step_id, event_type, event_id, data)
    return JSONResponse(accepted([event]))


__all__ = ["POSTMARK_EVENTS_ROUTE", "postmark_events", "suppression_cause"]
