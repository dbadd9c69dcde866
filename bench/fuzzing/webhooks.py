"""The ``webhook`` target: requests to the receiver, in-process, over real storage and Temporal.

``WebhookWorld`` is the receiver as ``dee webhooks`` builds it (``create_app``) on an
engine with a SQLite database and a real Temporal server (the dev server in the long
run, the time-skipping server in the suite), with two runs started and no worker:
a run's history then changes only when the receiver delivers an event to it. One
send is in the Message-ID index, so a reply can name it.

A request's credentials are valid (basic auth, a tracking token or a Postmark
reference signed with the webhook key, Twilio's and Vonage's signatures), missing or
wrong; its path or token names a known run (``known`` the first, ``second``), an
unknown one, or a hostile text.

Judged: a 5xx is a crash (Temporal and the database are up, so nothing but the
request can be at fault); a request that does not answer within the cap is a hang;
a 4xx must leave no row in any table and no event in any run's history.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from adapters.channels.callbacks import signed_event_url, voice_status_path
from adapters.channels.postmark import METADATA_MAX_VALUE
from adapters.storage import RunRecord
from adapters.tracking import MessageIndex, Ref, SentMessage, sign, signing_key
from bench.fuzzing.seeds import CONTACT, PLANS, ROOT, VARS
from bench.fuzzing.verdict import Verdict
from dee.config import (
    ChannelsConfig,
    EngineConfig,
    TemporalConfig,
    VoiceConfig,
    WebhooksConfig,
)
from dee.engine import Engine
from dee.webhooks import create_app
from interpreter import parse_plan

PUBLIC_URL = "http://hooks.example.com"
SECRET = "fuzz-webhook-secret"
USER, PASSWORD = "postmark", "inbound-pass"
TWILIO_TOKEN = "fuzz-twilio-token"
VONAGE_SECRET = "fuzz-vonage-signature-secret-of-40-bytes"
RUNS = ("r-fuzz-1", "r-fuzz-2")
MESSAGE_KEYS = {run_id: f"msg-{run_id}" for run_id in RUNS}  # one indexed send per run
STEP = "intro-email"


class WebhookWorld:
    """The receiver app over an engine, its two runs and the index entry (``open``)."""

    def __init__(self, engine: Engine, database_file: Path, key: bytes) -> None:
        self.engine = engine
        self.database_file = database_file
        self.key = key
        self.app = create_app(engine)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=PUBLIC_URL, timeout=60
        )

    @classmethod
    async def open(cls, client: Client, folder: Path) -> WebhookWorld:
        database_file = folder / "webhooks.db"
        config = EngineConfig(
            database=f"sqlite+aiosqlite:///{database_file}",
            templates_dir=ROOT / "templates",
            temporal=TemporalConfig(
                task_queue=f"fuzz-{uuid.uuid4().hex}",
                search_attributes=False,
                event_ack_timeout=0.1,
            ),
            channels=ChannelsConfig(
                voice=VoiceConfig(
                    provider="twilio", twilio_account_sid="AC0", twilio_auth_token=TWILIO_TOKEN
                )
            ),
            webhooks=WebhooksConfig(
                public_url=PUBLIC_URL,
                secret=SECRET,
                username=USER,
                password=PASSWORD,
                vonage_signature_secret=VONAGE_SECRET,
            ),
        )
        engine = await Engine.connect(config, client=client)
        plan = parse_plan(PLANS["sales-sequence"], source="sales-sequence")
        await engine.starter.register_plan(plan)
        for run_id in RUNS:  # as Engine.execute starts one, under ids short enough to sign
            await engine.starter.start_run(run_id, config.tenant, plan, dict(CONTACT), dict(VARS))
            record = RunRecord(
                run_id, config.tenant, plan.id, plan.version, CONTACT["id"], "PENDING"
            )
            await engine.runs.create(record)
        for run_id, key in MESSAGE_KEYS.items():
            sent = SentMessage(key, config.tenant, run_id, STEP, 0, CONTACT["id"])
            await MessageIndex(engine.database).record(sent)
        return cls(engine, database_file, await signing_key(SECRET, engine.database))

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.close()

    # ------------------------------------------------------------ requests

    def _run(self, case: Mapping[str, Any]) -> str:
        run = case.get("run", "known")
        return {"known": RUNS[0], "second": RUNS[1], "unknown": "r-unknown"}.get(run, run)

    def _token(self, purpose: str, run_id: str, auth: str, bound: str = "") -> str:
        if auth == "missing":
            return "not-a-token"
        key = self.key if auth == "valid" else b"another-key"
        return sign(key, purpose, Ref(run_id, STEP, 0), bound)

    def request(self, case: Mapping[str, Any]) -> dict[str, Any]:
        """The method, URL, headers and body ``case`` describes, markers filled in."""
        route, auth, run_id = case["route"], case["auth"], self._run(case)
        headers: dict[str, str] = {}
        if case.get("content_type"):
            headers["Content-Type"] = case["content_type"]
        body: bytes = case.get("body", b"")
        if route in ("open", "click", "unsubscribe"):
            target = str(case.get("query", {}).get("url", ""))
            token = self._token(route, run_id, auth, target if route == "click" else "")
            params = {"url": target} if route == "click" else {}
            url = f"/webhooks/email/{route}/{quote(token, safe='')}"
            return {"method": case.get("method", "GET"), "url": url, "params": params,
                    "headers": headers, "content": body}  # fmt: skip
        if route in ("inbound", "postmark"):
            user, password = (USER, PASSWORD) if auth == "valid" else (USER, "wrong")
            if auth != "missing":
                pair = base64.b64encode(f"{user}:{password}".encode()).decode()
                headers["Authorization"] = f"Basic {pair}"
            key = MESSAGE_KEYS.get(run_id, "no-such-key")
            # The reference spans metadata fields (as ``ref_metadata`` cuts it, even past
            # Postmark's field count): the marker is the first one's value.
            token = self._token("ref", run_id, auth)
            size = METADATA_MAX_VALUE
            first, *more = [token[i : i + size] for i in range(0, len(token), size)]
            ref = first + "".join(f'", "dee_ref_{i}": "{v}' for i, v in enumerate(more, 1))
            body = body.replace(b"@@MSG@@", key.encode()).replace(b"@@REF@@", ref.encode())
            path = "/webhooks/email/inbound" if route == "inbound" else (
                "/webhooks/email/events/postmark"
            )  # fmt: skip
            return {"method": "POST", "url": path, "headers": headers, "content": body}
        path = voice_status_path(route, run_id, "follow-up-call", 0)
        if route == "twilio":
            form = case.get("form", {})
            fields = {str(k): str(v) for k, v in form.items()} if isinstance(form, dict) else {}
            if auth != "missing":
                token = TWILIO_TOKEN if auth == "valid" else "wrong"
                signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, fields)
                headers["X-Twilio-Signature"] = signature
            return {"method": "POST", "url": path, "headers": headers,
                    "content": urlencode(fields).encode()}  # fmt: skip
        # Machine detection signed in, no voicemail text: leaving one would call Vonage.
        url = signed_event_url(PUBLIC_URL + path, self.key)
        if auth != "missing":
            claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
            secret = VONAGE_SECRET if auth == "valid" else "another-vonage-secret-of-40-bytes-long"
            headers["Authorization"] = "Bearer " + jwt.encode(claims, secret, algorithm="HS256")
        return {"method": "POST", "url": url.removeprefix(PUBLIC_URL), "headers": headers,
                "content": body}  # fmt: skip

    # ------------------------------------------------------------ judging

    def row_counts(self) -> dict[str, int]:
        with sqlite3.connect(self.database_file) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}

    async def history_lengths(self) -> dict[str, int]:
        lengths = {}
        for run_id in RUNS:
            described = await self.engine.client.get_workflow_handle(run_id).describe()
            lengths[run_id] = described.history_length
        return lengths

    async def judge(self, case: Mapping[str, Any], cap: float) -> Verdict:
        """Send ``case`` and judge the answer (and, for a refusal, what it left behind)."""
        begin = time.perf_counter()
        try:  # what a client cannot send (a 70,000-character URL, a lone surrogate in a
            # query: real clients send bytes) no server ever sees
            request = self.http.build_request(**self.request(case))
        except (ValueError, TypeError, UnicodeError, httpx.InvalidURL) as exc:
            return Verdict("refused", f"not sendable: {type(exc).__name__}: {exc}")
        rows, lengths = self.row_counts(), await self.history_lengths()
        try:
            answer = await asyncio.wait_for(self.http.send(request), timeout=cap)
        except TimeoutError:
            return Verdict("hang", f"no answer within {cap:g} s", time.perf_counter() - begin)
        except Exception as exc:  # the app raised through the transport: a 500
            return Verdict("crash", f"{type(exc).__name__}: {str(exc)[:300]}")
        seconds = time.perf_counter() - begin
        status, text = answer.status_code, answer.text[:300]
        if seconds > cap:  # it answered, but only after holding the event loop too long
            return Verdict("hang", f"{status} after {seconds:.1f} s", seconds)
        if status >= 500:
            return Verdict("crash", f"{status}: {text}", seconds)
        if status >= 400:
            if not _json_error(answer):
                return Verdict("crash", f"{status} without a JSON error: {text}", seconds)
            rows_after, lengths_after = self.row_counts(), await self.history_lengths()
            if rows_after != rows or lengths_after != lengths:
                changed = {t: n for t, n in rows_after.items() if rows.get(t) != n}
                grown = {r: n for r, n in lengths_after.items() if lengths.get(r) != n}
                return Verdict(
                    "half_written", f"{status} yet rows {changed} history {grown}: {text}", seconds
                )
            return Verdict("refused", f"{status}: {text}", seconds)
        return Verdict("accepted", f"{status}: {text}", seconds)


def _json_error(answer: httpx.Response) -> bool:
    try:
        return "error" in json.loads(answer.content)
    except ValueError:
        return False
