"""A stand-in of Twilio's ``POST /2010-04-01/Accounts/{Sid}/Calls.json``.

Checked as the real API does: HTTP basic auth with the account SID and auth token
(401, code 20003); the account in the path must be the authenticated one (404, code
20404); a form-encoded body; ``To`` and ``From`` required (400, 21201/21213), ``To``
a valid number (400, 21211), ``From`` a number the account owns (400, 21210);
exactly one of ``Url`` / ``Twiml`` (400, 21205); ``MachineDetection`` and
``StatusCallbackEvent`` from their documented values. Success is 201 with the call
resource as JSON (``sid`` ``CA`` + 32 hex digits, ``status`` ``queued``).

``GET`` on the same path lists the calls created, newest first, in Twilio's paged
shape (``calls``, ``page``, ``page_size``, ``start``, ``end``, ``uri``,
``first_page_uri``, ``next_page_uri``, ``previous_page_uri``), filtered as Twilio
filters: ``To``, ``From``, ``Status``, and ``StartTime`` / ``StartTime>`` /
``StartTime<`` (sent as ``StartTime>=YYYY-MM-DD``: whole days in UTC; a call not
dialled yet has no start time and so matches none of them). ``PageSize`` is 1..1000
(default 50) and ``Page`` counts from 0. Unknown parameters are refused (400), so a
misspelt filter fails loudly instead of widening the list. A created call stays
``queued`` until a test dials it (``TwilioStandIn.dial``).

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
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EVENTS = {"initiated", "ringing", "answered", "completed"}
_AMD = {"Enable", "DetectMessageEnd"}


_LIST_FILTERS = {
    "To", "From", "Status", "ParentCallSid", "StartTime", "StartTime>", "StartTime<",
    "EndTime", "EndTime>", "EndTime<", "PageSize", "Page", "PageToken",
}  # fmt: skip


@dataclass
class CallRecord:
    """One call as Twilio keeps it: what the list endpoint reports."""

    sid: str
    to: str
    from_: str
    created: datetime
    status: str = "queued"
    started: datetime | None = None
    ended: datetime | None = None

    def resource(self) -> dict[str, Any]:
        def rfc2822(moment: datetime | None) -> str | None:
            return None if moment is None else format_datetime(moment, usegmt=False)

        return {
            "sid": self.sid,
            "account_sid": ACCOUNT_SID,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.ended or self.started or self.created),
            "parent_call_sid": None,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "phone_number_sid": None,
            "status": self.status,
            "start_time": rfc2822(self.started),
            "end_time": rfc2822(self.ended),
            "duration": None if self.ended is None else "0",
            "price": None,
            "price_unit": "USD",
            "direction": "outbound-api",
            "answered_by": None,
            "api_version": "2010-04-01",
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{self.sid}.json",
            "subresource_uris": {},
        }


@dataclass
class TwilioStandIn:
    url: str
    behaviour: Behaviour
    calls: list[dict[str, list[str]]] = field(default_factory=list)
    script: CallScript = field(default_factory=CallScript)
    callbacks: CallbackLog = field(default_factory=CallbackLog)
    # Every call created, oldest first: what the list endpoint reads.
    records: list[CallRecord] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()
        self.records.clear()

    def dial(self, sid: str, status: str = "completed") -> None:
        """Move call ``sid`` on from ``queued``: Twilio dialled it (and it ended)."""
        [record] = [r for r in self.records if r.sid == sid]
        now = datetime.now(UTC)
        record.status, record.started = status, now
        record.ended = now if status in {"completed", "busy", "failed", "no-answer"} else None


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


def _day(value: str, name: str) -> date:
    # Twilio's call filters take whole days (YYYY-MM-DD, UTC), not times.
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(20001, f"Invalid {name}: {value}; expected YYYY-MM-DD") from None


def _list(records: list[CallRecord], path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    one = {k: v[0] for k, v in query.items()}
    if set(one) - _LIST_FILTERS:
        raise _bad(20001, f"Unknown parameter: {', '.join(sorted(set(one) - _LIST_FILTERS))}")
    size, page = one.get("PageSize", "50"), one.get("Page", "0")
    if not (size.isdigit() and 1 <= int(size) <= 1000 and page.isdigit()):
        raise _bad(20001, "PageSize must be 1..1000 and Page a page number")
    days = {k: _day(v, k) for k, v in one.items() if k.startswith("StartTime")}

    def started_within(r: CallRecord) -> bool:
        if not days:
            return True
        if r.started is None:  # not dialled: no start time to compare
            return False
        started = r.started.astimezone(UTC).date()
        return (
            days.get("StartTime", started) == started
            and days.get("StartTime>", started) <= started
            and days.get("StartTime<", started) >= started
        )

    def matches(r: CallRecord) -> bool:
        return (
            ("To" not in one or r.to == one["To"])
            and ("From" not in one or r.from_ == one["From"])
            and ("Status" not in one or r.status == one["Status"])
            and started_within(r)
        )

    found = [r.resource() for r in sorted(records, key=lambda r: r.created, reverse=True)
             if matches(r)]  # fmt: skip
    size_n, page_n = int(size), int(page)
    start = size_n * page_n
    chosen = found[start : start + size_n]
    filters = {k: v for k, v in one.items() if k not in {"PageSize", "Page", "PageToken"}}

    def uri(n: int) -> str:
        token = {"PageToken": f"PA{uuid.uuid4().hex}"} if n else {}
        return f"{path}?{urlencode({**filters, 'PageSize': size_n, 'Page': n, **token})}"

    return {
        "calls": chosen,
        "page": page_n,
        "page_size": size_n,
        "start": start,
        "end": start + max(len(chosen) - 1, 0),
        "uri": uri(page_n),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page_n + 1) if start + size_n < len(found) else None,
        "previous_page_uri": uri(page_n - 1) if page_n else None,
    }


@contextmanager
def running_twilio() -> Iterator[TwilioStandIn]:
    behaviour = Behaviour()
    calls: list[dict[str, list[str]]] = []
    standin = TwilioStandIn("", behaviour, calls)

    class Handler(StandInHandler):
        def handle_request(self, request: Recorded) -> tuple[int, Any]:
            target = urlsplit(request.path)
            match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Calls\.json", target.path)
            if request.method not in {"GET", "POST"} or match is None:
                raise _bad(20404, "The requested resource was not found", 404)
            if not _authenticated(request):
                raise _bad(20003, "Authenticate", 401)
            if match.group(1) != ACCOUNT_SID:
                raise _bad(20404, "The requested resource was not found", 404)
            if request.method == "GET":
                return 200, _list(standin.records, target.path, parse_qs(target.query))
            if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
                raise _bad(20001, "Expected a form-encoded body")
            form = parse_qs(request.body.decode(), keep_blank_values=True)
            _check_form(form)
            calls.append(form)
            sid = "CA" + uuid.uuid4().hex
            record = CallRecord(sid, form["To"][0], form["From"][0], datetime.now(UTC))
            standin.records.append(record)
            call_back(
                standin.callbacks, standin.script, AUTH_TOKEN, sid,
                {**form, "AccountSid": [ACCOUNT_SID]},
            )  # fmt: skip
            return 201, record.resource()

        def outage_body(self, status: int) -> Any:
            return {"code": 20500, "message": "Internal Server Error", "status": status}

    Handler.behaviour = behaviour
    with serving(Handler) as url:
        standin.url = url
        yield standin
