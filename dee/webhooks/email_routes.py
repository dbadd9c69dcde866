"""Email endpoints: open pixel, click redirect, one-click unsubscribe, inbound replies,
and the HTTP email provider's event webhook (``postmark_events``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.policy import PolicyError
from adapters.tracking.rewrite import CLICK_ROUTE, CLICK_URL_PARAM, OPEN_ROUTE, UNSUBSCRIBE_ROUTE
from dee.events.stop_words import html_text, reply_excerpt
from dee.webhooks.auth import Refused, check_basic_auth
from dee.webhooks.parsing import (
    bad_request,
    form_fields,
    header_block,
    header_list,
    json_object,
    msg_ids,
    text_field,
)
from dee.webhooks.postmark_events import POSTMARK_EVENTS_ROUTE, postmark_events
from dee.webhooks.receiver import Receiver, accepted
from dee.webhooks.replies import from_contact
from interpreter.events import FROM_CONTACT

log = logging.getLogger(__name__)
INBOUND_ROUTE = "/webhooks/email/inbound"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
SNIPPET_CHARS = 200


def _receiver(request: Request) -> Receiver:
    receiver: Receiver = request.app.state.receiver
    return receiver


async def open_pixel(request: Request) -> Response:
    receiver = _receiver(request)
    ref = await receiver.verify_token("open", request.path_params["token"])
    event_id = f"email.opened:{ref.run_id}:{ref.step_id}:{ref.visit}"
    # A pixel is fetched on every view; one event per send is what hasOpen needs.
    if not receiver.was_delivered(ref.run_id, event_id):
        await receiver.ingest(ref.run_id, ref.step_id, "email.opened", event_id)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


async def click(request: Request) -> Response:
    receiver = _receiver(request)
    target = request.query_params.get(CLICK_URL_PARAM)
    if not target:
        raise bad_request(f"query parameter {CLICK_URL_PARAM!r} is missing")
    ref = await receiver.verify_token("click", request.path_params["token"], target)
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    event_id = f"email.clicked:{ref.run_id}:{ref.step_id}:{ref.visit}:{digest}"
    if not receiver.was_delivered(ref.run_id, event_id):
        try:
            data = {"url": target}
            await receiver.ingest(ref.run_id, ref.step_id, "email.clicked", event_id, data)
        except Exception:
            # A person is waiting for the page, and the target is ours (signed): send
            # them on. No one retries a browser's request, so this click's event is
            # lost (a later click of the same link records it).
            log.warning("click on %s not recorded for run %s", target, ref.run_id, exc_info=True)
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


async def unsubscribe(request: Request) -> Response:
    receiver = _receiver(request)
    ref = await receiver.verify_token("unsubscribe", request.path_params["token"])
    if request.method == "GET":
        # RFC 8058: a GET (a link scanner, a preview) must not unsubscribe; it shows a
        # button that POSTs, which is also what one-click clients send directly.
        page = (
            "<!DOCTYPE html><html><body><form method='post'>"
            "<p>Stop receiving these emails?</p><button type='submit'>Unsubscribe</button>"
            "</form></body></html>"
        )
        return HTMLResponse(page, headers=NO_STORE)
    record = await receiver.run(ref.run_id)
    detail = {"runId": ref.run_id, "stepId": ref.step_id, "visit": ref.visit, "rfc8058": True}
    try:
        consent = await receiver.engine.policies.admin.revoke_consent(
            record.tenant, record.contact_id, "email", "list-unsubscribe", detail=detail
        )
    except PolicyError as exc:
        raise Refused(422, f"cannot record the opt-out: {exc}") from None
    event_id = f"email.unsubscribed:{ref.run_id}:{ref.step_id}:{ref.visit}"
    data = {"source": "list-unsubscribe", "recordedAt": consent.recorded_at.isoformat()}
    event = await receiver.ingest(ref.run_id, ref.step_id, "email.unsubscribed", event_id, data)
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse("<!DOCTYPE html><html><body><p>You are unsubscribed.</p></body></html>")
    return JSONResponse({**accepted([event]), "unsubscribed": record.contact_id})


async def inbound(request: Request) -> Response:
    """A reply, as an inbound-parse webhook delivers it: Postmark JSON or a multipart form.

    Its ``From`` is compared with the address the message went to (``replies``): the
    event says ``fromContact``, and a reply from anyone else does not count as the
    contact's in ``hasReply``.
    """
    receiver = _receiver(request)
    hooks = receiver.config.webhooks
    check_basic_auth(request.headers.get("authorization"), hooks.username, hooks.password)
    if request.headers.get("content-type", "").lower().startswith("application/json"):
        body, _raw = await json_object(request)
        headers = header_list(body.get("Headers", []))
        sender = text_field(body, "From", required=False, line=True)
        subject = text_field(body, "Subject", required=False)
        text = (
            text_field(body, "StrippedTextReply", required=False)
            or text_field(body, "TextBody", required=False)
            # An HTML-only reply (no text part) still says what the contact wrote.
            or html_text(text_field(body, "HtmlBody", required=False))
        )
        own_id = headers.get("message-id") or text_field(
            body, "MessageID", required=False, line=True
        )
    else:
        form = await form_fields(request)
        headers = header_block(text_field(form, "headers"))
        sender, subject = form.get("from", ""), form.get("subject", "")
        text = form.get("text", "") or html_text(form.get("html", ""))
        own_id = headers.get("message-id", "")
    refs = msg_ids(headers.get("in-reply-to", "")) + msg_ids(headers.get("references", ""))[::-1]
    if not refs:
        raise bad_request("the email has no In-Reply-To or References header: not a reply")
    sent = await receiver.index.find(refs)
    if sent is None:
        raise Refused(404, f"the reply references no message DEE sent ({', '.join(refs)})")
    contact = await from_contact(receiver, sent, sender)
    seed = own_id or f"{refs[0]}\x00{sender}\x00{text}"
    if not contact:
        # Its own id: a copy of the contact's reply relayed under another From (a list
        # rewriting it) must not make the contact's, arriving later, a duplicate.
        seed += f"\x00not-the-contact\x00{sender}"
    # Keyed: without a Message-ID the seed holds the sender and the text, which an
    # unkeyed hash in the audit log would let anyone confirm by guessing.
    digest = hmac.new(await receiver.signing_key(), seed.encode(), hashlib.sha256).hexdigest()
    event_id = "email.replied:" + digest[:32]
    data = {
        "from": sender,
        FROM_CONTACT: contact,
        "subject": subject,
        # Cut short, but never past a revocation further on (it is read from the snippet).
        "snippet": reply_excerpt(text, SNIPPET_CHARS),
    }
    event = await receiver.ingest(sent.run_id, sent.step_id, "email.replied", event_id, data)
    return JSONResponse({**accepted([event]), FROM_CONTACT: contact})


routes = [
    Route(OPEN_ROUTE, open_pixel, methods=["GET"]),
    Route(CLICK_ROUTE, click, methods=["GET"]),
    Route(UNSUBSCRIBE_ROUTE, unsubscribe, methods=["GET", "POST"]),
    Route(INBOUND_ROUTE, inbound, methods=["POST"]),
    Route(POSTMARK_EVENTS_ROUTE, postmark_events, methods=["POST"]),
]

__all__ = ["INBOUND_ROUTE", "POSTMARK_EVENTS_ROUTE", "routes"]
