"""A stand-in of Twilio's ``POST /2010-04-01/Accounts/{Sid}/Calls.json``.

Checked as the real API does: HTTP basic auth with the account SID and auth token
(401, code 20003); the account in the path must be the authenticated one (404, code
20404); a form-encoded body; ``To`` and ``From`` required (400, 21201/21213), ``To``
a valid number (400, 21211), ``From`` a number the account owns (400, 21210);
exactly one of ``Url`` / ``Twiml`` (400, 21205); ``MachineDetection`` and
``StatusCallbackEvent`` from their documented values. Success is 201 with the call
resource as JSON (``sid`` ``CA`` + 32 hex digits, ``status`` ``queued``).

After answering, the stand-in calls the application back as Twilio would (signed
status callbacks, the answer document with ``AnsweredBy``): see ``twilio_callbacks``;
``TwilioStandIn.script`` says how the calls go.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.integration.channels.standins.server import (
    Answer,
    Behaviour,
    Recorded,
    StandInHandler,
    serving,
)
from tests.integration.channels.standins.twilio_callbacks import (
    CallbackLog,
    CallScript,
    call_back,
)

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-9a8b"
OWNED_NUMBERS = ("+15551234567", "+15557654321")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EVENTS = {"initiated", "ringing", "answered", "completed"}
_AMD = {"Enable", "DetectMessageEnd"}


@dataclass
class TwilioStandIn:
    url: str
    behaviour: Behaviour
    calls: list[dict[str, list[str]]] = field(default_factory=list)
    script: CallScript = field(default_factory=CallScript)
    callbacks: CallbackLog = field(default_factory=CallbackLog)


def _bad(code: int, message: str, status: int = 400) -> Answer:
    return Answer(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def _authenticated(request: Recorded) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user == ACCOUNT_SID and password == AUTH_TOKEN


def _check_form(form: dict[str, list[str]]) -> None:
    one = {k: v[0] for k, v in form.items()}
    if "To" not in one:
        raise _bad(21201, "No 'To' number is specified")
    if "From" not in one:
        raise _bad(21213, "No 'From' number is specified")
    if not _E164.fullmatch(one["To"]):
        raise _bad(21211, f"Invalid 'To' Phone Number: {one['To']}")
    if one["From"] not in OWNED_NUMBERS:
        raise _bad(21210, f"'From' phone number not verified: {one['From']}")
    if ("Url" in one) == ("Twiml" in one):
        raise _bad(21205, "Exactly one of Url and Twiml is required")
    if "MachineDetection" in one and one["MachineDetection"] not in _AMD:
        raise _bad(21218, f"Invalid MachineDetection: {one['MachineDetection']}")
    if not set(form.get("StatusCallbackEvent", [])) <= _EVENTS:
        raise _bad(21626, "Invalid StatusCallbackEvent")
    if "TimeLimit" in one and not one["TimeLimit"].isdigit():
        raise _bad(21219, "TimeLimit must be an integer")


@contextmanager
def running_twilio() -> Iterator[TwilioStandIn]:
    behaviour = Behaviour()
    calls: list[dict[str, list[str]]] = []
    standin = TwilioStandIn("", behaviour, calls)

    class Handler(StandInHandler):
        def handle_request(self, request: Recorded) -> tuple[int, Any]:
            match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Calls\.json", request.path)
            if request.method != "POST" or match is None:
                raise _bad(20404, "The requested resource was not found", 404)
            if not _authenticated(request):
                raise _bad(20003, "Authenticate", 401)
            if match.group(1) != ACCOUNT_SID:
                raise _bad(20404, "The requested resource was not found", 404)
            if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
                raise _bad(20001, "Expected a form-encoded body")
            form = parse_qs(request.body.decode(), keep_blank_values=True)
            _check_form(form)
            calls.append(form)
            sid = "CA" + uuid.uuid4().hex
            call_back(
                standin.callbacks, standin.script, AUTH_TOKEN, sid,
                {**form, "AccountSid": [ACCOUNT_SID]},
            )  # fmt: skip
            return 201, {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": form["To"][0],
                "from": form["From"][0],
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
            }

        def outage_body(self, status: int) -> Any:
            return {"code": 20500, "message": "Internal Server Error", "status": status}

    Handler.behaviour = behaviour
    with serving(Handler) as url:
        standin.url = url
        yield standin
