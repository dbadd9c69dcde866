"""What the Twilio stand-in does after creating a call: Twilio's own callbacks.

For a call created with ``StatusCallback`` the real Twilio posts call-progress events
(the ones named in ``StatusCallbackEvent``; only ``completed`` when none are named),
and with ``MachineDetection`` and a ``Url`` it fetches that URL once it knows who
answered, passing ``AnsweredBy``. Every request is form-encoded and signed the way
Twilio signs: ``X-Twilio-Signature`` = base64 HMAC-SHA1, keyed with the account's
auth token, over the URL followed by the sorted form parameters, computed here with
the SDK's ``RequestValidator.compute_signature``.

How the call goes is scripted per test (``CallScript``): who answers, and the final
status. The callbacks are posted from a thread after the create request has been
answered, like a provider calling back on its own schedule; ``Callback`` records
each request and the answer it got.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator

# Final statuses in which nobody answered: no answer document, no "answered" event.
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})


@dataclass
class CallScript:
    """How the next calls go."""

    answered_by: str = "human"  # AnsweredBy, reported when MachineDetection was asked
    final_status: str = "completed"  # or no-answer, busy, failed
    duration_seconds: int = 42
    post_callbacks: bool = True


@dataclass
class Callback:
    """One request the stand-in made to the application, and what it answered."""

    url: str
    params: dict[str, str]
    signature: str
    status: int | None = None  # None: the request did not get an answer
    body: str = ""


@dataclass
class CallbackLog:
    """Every callback request made, with a way to wait for a call's last one."""

    requests: list[Callback] = field(default_factory=list)
    finished_calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_finished(self, calls: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.finished_calls) < calls:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.finished_calls)} of {calls} calls called back")
            time.sleep(0.02)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.finished_calls.clear()


def _post(log: CallbackLog, auth_token: str, url: str, params: dict[str, str]) -> Callback:
    signature = RequestValidator(auth_token).compute_signature(url, params)
    callback = Callback(url, params, signature)
    try:
        answer = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5)
        callback.status, callback.body = answer.status_code, answer.text
    except httpx.HTTPError as exc:
        callback.body = f"{type(exc).__name__}: {exc}"
    with log._lock:
        log.requests.append(callback)
    return callback


def _run(
    log: CallbackLog, script: CallScript, auth_token: str, sid: str, form: dict[str, list[str]]
) -> None:
    one = {k: v[0] for k, v in form.items()}
    base = {
        "AccountSid": one.get("AccountSid", ""),
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "Direction": "outbound-api",
        "From": one["From"],
        "To": one["To"],
        "Called": one["To"],
        "Caller": one["From"],
    }
    amd = {"AnsweredBy": script.answered_by} if "MachineDetection" in one else {}
    wanted = set(form.get("StatusCallbackEvent", [])) or {"completed"}
    status_url = one.get("StatusCallback")
    sequence = 0

    def progress(event: str, call_status: str, extra: dict[str, str]) -> None:
        nonlocal sequence
        if status_url is None or event not in wanted:
            return
        params = {
            **base,
            "CallStatus": call_status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            **extra,
        }
        sequence += 1
        _post(log, auth_token, status_url, params)

    progress("initiated", "initiated", {})
    progress("ringing", "ringing", {})
    if script.final_status in UNANSWERED:
        progress("completed", script.final_status, {"CallDuration": "0"})
    else:
        if "Url" in one:  # the answer document, fetched once detection has decided
            _post(log, auth_token, one["Url"], {**base, "CallStatus": "in-progress", **amd})
        progress("answered", "in-progress", amd)
        progress("completed", "completed", {"CallDuration": str(script.duration_seconds), **amd})
    with log._lock:
        log.finished_calls.append(sid)


def call_back(
    log: CallbackLog, script: CallScript, auth_token: str, sid: str, form: dict[str, list[str]]
) -> None:
    """Start posting the callbacks of call ``sid`` (created with ``form``) in a thread."""
    if not script.post_callbacks:
        return
    threading.Thread(
        target=_run, args=(log, script, auth_token, sid, form), name=f"twilio-{sid}", daemon=True
    ).start()
