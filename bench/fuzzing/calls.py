"""Strategies for the two doors that take whole requests: ``dee`` command lines (with
the files they name) and webhook requests (route, credentials, body)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.fuzzing import hostile
from bench.fuzzing.cases import SUFFIXES, plans
from bench.fuzzing.mutation import corrupted, mutated, rendered
from bench.fuzzing.seeds import CONTACT, EVENTS, PLANS, VARS

# ------------------------------------------------------------------ CLI


def _csv_rows(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([b"id,email,first_name", b"email,id", b"ID,email", b"", b"id"]))
    rows = [header]
    for i in range(draw(st.integers(0, 6))):
        cid = draw(st.sampled_from([f"c-{i}".encode(), b"c-0", b"", b" ", b"c-\x00", b'"c,1"']))
        rows.append(cid + b"," + draw(st.sampled_from([b"a@example.com", b"\xff", b'"x', b""])))
    data = b"\n".join(rows) + b"\n"
    if draw(st.integers(0, 3)) == 0:
        data = draw(corrupted(data, ".csv"))
    return data


@st.composite
def cli_calls(draw: st.DrawFn) -> dict[str, Any]:
    """An argument vector for ``dee`` and the files it names (``{dir}`` is their folder)."""
    plan_suffix = draw(st.sampled_from(SUFFIXES))
    plan_name = f"plan{plan_suffix}"
    files: dict[str, bytes] = {}
    if draw(st.booleans()):
        files[plan_name] = rendered(PLANS["sales-sequence"], plan_suffix)
    else:
        files[plan_name] = draw(plans())["data"]
    plan = f"{{dir}}/{plan_name}"
    json_doc = st.one_of(
        mutated(CONTACT).map(lambda d: rendered(d, ".json")),
        st.just(rendered(CONTACT, ".json")),
        st.sampled_from([b"[]", b"null", b"{", b"\xff", b'{"id": "\\ud800"}', b"[" * 5000]),
    )
    text = st.one_of(st.sampled_from(["c-1", "run-1", "email.opened"]), hostile.texts())
    command = draw(
        st.sampled_from(
            ["validate", "simulate", "graph", "register", "start", "start-csv", "event",
             "suppress", "consent", "status", "list", "export", "replay", "garbage"]
        )
    )  # fmt: skip
    argv: list[str]
    if command == "validate":
        argv = ["plan", "validate", plan, *draw(st.sampled_from([[], ["--no-registry"]]))]
        argv += draw(st.sampled_from([[], ["--max-steps", "0"], ["--max-wait-days", "-1"]]))
    elif command == "simulate":
        files["contact.json"] = draw(json_doc)
        files["events.json"] = rendered(draw(mutated(EVENTS)), ".json")
        argv = ["plan", "simulate", plan, "--contact", "{dir}/contact.json"]
        argv += ["--events", "{dir}/events.json", *draw(st.sampled_from([[], ["--json"]]))]
    elif command == "graph":
        argv = ["plan", "graph", plan]
    elif command == "register":
        argv = ["plan", "register", plan]
    elif command == "start":
        files["contact.json"] = draw(json_doc)
        files["vars.json"] = rendered(draw(mutated(VARS) | st.just(VARS)), ".json")
        argv = ["start", plan, "--contact", "{dir}/contact.json", "--vars", "{dir}/vars.json"]
        if draw(st.booleans()):
            argv += ["--idempotency-key", draw(text)]
    elif command == "start-csv":
        files["contacts.csv"] = _csv_rows(draw)
        argv = ["start", plan, "--contacts", "{dir}/contacts.csv", "--json"]
    elif command == "event":
        as_text = mutated({"from": "ada@example.com"}).map(lambda d: rendered(d, ".json"))
        data = draw(st.one_of(as_text.map(lambda b: b.decode("utf-8", "surrogateescape")), text))
        argv = ["event", "ingest", "--type", draw(text), "--contact", draw(text), "--data", data]
        if draw(st.booleans()):
            argv += ["--run", draw(text), "--step", draw(text)]
    elif command == "suppress":
        action = draw(st.sampled_from(["add", "remove"]))
        argv = ["suppress", action, draw(text)]
        if action == "add":
            argv += ["--reason", draw(text)]
        argv += draw(st.sampled_from([[], ["--channel", "sms"], ["--expires", "yesterday"]]))
    elif command == "consent":
        argv = ["consent", draw(st.sampled_from(["grant", "revoke"])), draw(text)]
        argv += [draw(st.sampled_from(["email", "voice", "sms", ""]))]
        argv += draw(st.sampled_from([[], ["--at", "2026-13-45"], ["--source", "form"]]))
    elif command == "status":
        argv = ["run", draw(st.sampled_from(["status", "timeline", "pause"])), draw(text)]
    elif command == "list":
        argv = [
            "runs",
            "list",
            "--status",
            draw(text),
            "--limit",
            str(draw(st.integers(-5, 10**6))),
        ]
    elif command == "export":
        argv = ["audit", "export", draw(text), "--out", draw(st.sampled_from(["{dir}", "{dir}/x"]))]
    elif command == "replay":
        files["history.json"] = draw(json_doc)
        argv = ["replay", "--history", "{dir}/history.json"]
    else:
        argv = draw(
            st.lists(text | st.sampled_from(["--json", "--help", "plan", "-x"]), max_size=5)
        )
    return {"argv": [a.replace("\x00", "") for a in argv], "files": files}


# ------------------------------------------------------------------ webhooks

INBOUND = {
    "From": "ada@example.com",
    "Subject": "Re: hi",
    "TextBody": "yes\nplease",
    "MessageID": "own-1",
    "Headers": [{"Name": "In-Reply-To", "Value": "<@@MSG@@@example.com>"}],
}
POSTMARK = {
    "RecordType": "Bounce",
    "Type": "HardBounce",
    "ID": 4323372036854775807,
    "MessageID": "m-1",
    "Email": "ada@example.com",
    "Description": "The server was unable to deliver your message",
    "Metadata": {"dee_ref_0": "@@REF@@"},
}
_VONAGE = {"uuid": "u-1", "status": "machine", "sub_state": "beep_start"}
_TWILIO = {"CallSid": "CA1", "CallStatus": "completed", "AnsweredBy": "human"}
ROUTES = ("inbound", "postmark", "vonage", "twilio", "open", "click", "unsubscribe")


@st.composite
def webhook_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request for one route: credentials valid, missing or wrong; a mutated body.

    Markers the receiver's world fills in: ``@@REF@@`` a signed send reference,
    ``@@MSG@@`` the Message-ID key of an indexed send; ``run`` says whose run the
    path or token names (``known``, ``unknown``, or a hostile text).
    """
    route = draw(st.sampled_from(ROUTES))
    auth = draw(st.sampled_from(["valid"] * 4 + ["missing", "wrong"]))
    run = draw(st.sampled_from(["known"] * 4 + ["unknown"]) | hostile.texts())
    case: dict[str, Any] = {"route": route, "auth": auth, "run": run, "content_type": ""}
    if route in ("open", "click", "unsubscribe"):
        case["method"] = draw(st.sampled_from(["GET", "POST"]))
        case["query"] = {
            "url": draw(st.sampled_from(["https://example.com/", ""]) | hostile.texts())
        }
        case["body"] = b""
        return case
    seed = {"inbound": INBOUND, "postmark": POSTMARK, "vonage": _VONAGE, "twilio": _TWILIO}
    # One edit half of the time: the rest of the body stays valid, so the edit is what
    # the receiver judges (a huge Description in an authentic bounce, say).
    doc = seed[route]
    value = draw(st.just(doc) | mutated(doc, max_edits=1) | mutated(doc))
    if route == "twilio":
        case["content_type"] = "application/x-www-form-urlencoded"
        case["form"] = value if isinstance(value, dict) else {"CallSid": str(value)}
        case["body"] = b""
        return case
    suffix = ".json"
    data = rendered(value, suffix)
    if draw(st.integers(0, 3)) == 0:
        data = draw(corrupted(data, suffix))
    case["body"] = data
    case["content_type"] = draw(
        st.sampled_from(
            ["application/json"] * 4 + ["text/plain", "multipart/form-data; boundary=b"]
        )
    )
    return case
