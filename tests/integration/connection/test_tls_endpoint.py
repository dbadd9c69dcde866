"""DEE against a TLS endpoint: the dev server behind TLS-terminating proxies (one that
requires client certificates, one that does not, one in plain text), with certificates
made for the test.

A worker process configured by a settings file, the CLI by ``DEE_TEMPORAL_*`` variables
and an ``Engine`` in this process run a plan end to end over mTLS; a client without a
certificate, with one the server's CA did not sign, or trusting another CA is refused
with a line naming the setting to fix; an API key reaches the server as
``authorization: Bearer <key>`` (the proxy decodes the HTTP/2 headers), inside TLS
unless TLS is turned off explicitly.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig, TemporalTlsConfig
from dee.connection import connect
from dee.devserver import DevServer, dev_server
from dee.engine import Engine
from dee.errors import EngineError
from tests.integration.connection.pki import Pki, make_pki
from tests.integration.connection.tls_proxy import Proxy, tls_proxy
from tests.integration.inprocess import dee_in_process
from tests.integration.mailsink import SmtpServer
from tests.integration.temporal_env import CODEC, TEST_CODEC_KEYS
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"

PLAN = """
id: tls-hello
version: 1
name: One email over TLS
metadata: {createdAt: "2026-01-01T00:00:00Z", createdBy: tests}
steps:
  - {type: sendEmail, id: hello, templateId: tmpl_intro, subject: "Hello {{ product }}"}
  - {type: end, id: done, outcome: sent}
transitions: linear
"""
CONTACT = {"id": "c-tls", "email": "tls@example.com", "first_name": "Tee", "company": "Ls"}
VARS = {"product": "DEE", "sender_name": "Sam"}
KEY = "the-right-key"


@dataclass(frozen=True, slots=True)
class Endpoints:
    dev: DevServer
    pki: Pki
    tls: Proxy  # server certificate only
    mtls: Proxy  # requires a client certificate signed by the CA
    plain: Proxy  # no TLS: sees what a client sends in the clear
    keyed: Proxy  # TLS, and only requests carrying the API key KEY get through


@pytest.fixture(scope="module")
async def endpoints(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Endpoints]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    async with (
        dev_server(ui=False) as dev,
        tls_proxy(dev.address, pki) as tls,
        tls_proxy(dev.address, pki, mutual=True) as mtls,
        tls_proxy(dev.address, None) as plain,
        tls_proxy(dev.address, pki, api_key=KEY) as keyed,
    ):
        yield Endpoints(dev, pki, tls, mtls, plain, keyed)


def _config(address: str, tls: TemporalTlsConfig, **temporal: object) -> EngineConfig:
    return EngineConfig(temporal=TemporalConfig(address=address, tls=tls, **temporal), codec=CODEC)


async def _refusal(config: EngineConfig) -> tuple[str, ...]:
    with pytest.raises(EngineError) as refused:
        await connect(config)
    return refused.value.lines


async def _now(value: list[bytes]) -> list[bytes]:
    """``until`` awaits its probe: a list the proxy fills, as an awaitable."""
    return value


def _paths(proxy: Proxy) -> set[str]:
    return {h[":path"].removeprefix(SERVICE) for h in proxy.seen.headers if ":path" in h}


async def test_a_worker_the_cli_and_an_engine_run_a_plan_over_mtls(
    endpoints: Endpoints, mail: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki, proxy = endpoints.pki, endpoints.mtls
    queue = f"tls-{uuid.uuid4().hex[:8]}"
    database = f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}"
    # The worker reads a settings file, the CLI the variables: both spellings are used.
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "temporal": {
                    "address": proxy.address,
                    "taskQueue": queue,
                    "tls": {
                        "serverCaFile": str(pki.ca),
                        "clientCertFile": str(pki.client_cert),
                        "clientKeyFile": str(pki.client_key),
                    },
                },
                "database": database,
                "templatesDir": str(ROOT / "templates"),
                "templates": {"processes": 1},  # one render process starts faster than two
                "channels": {"email": {"host": mail.host, "port": mail.port}},
                "codec": {"keys": [TEST_CODEC_KEYS]},
            }
        )
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "dee", "worker"], env={**base, "DEE_CONFIG": str(settings)},
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    cli_env = {
        **base,
        "DEE_DATABASE_URL": database,
        "DEE_TEMPORAL_ADDRESS": proxy.address,
        "DEE_TASK_QUEUE": queue,
        "DEE_TEMPORAL_TLS_SERVER_CA_FILE": str(pki.ca),
        "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE": str(pki.client_cert),
        "DEE_TEMPORAL_TLS_CLIENT_KEY_FILE": str(pki.client_key),
        "DEE_TEMPLATES_DIR": str(ROOT / "templates"),
        "DEE_CODEC_KEYS": TEST_CODEC_KEYS,
    }
    (tmp_path / "plan.yaml").write_text(PLAN)
    (tmp_path / "contact.json").write_text(json.dumps(CONTACT))
    (tmp_path / "vars.json").write_text(json.dumps(VARS))
    engine = None
    try:
        # The CLI's entry function in a thread (its own event loop): the proxy it goes
        # through runs on this one. The worker is the process started as a user would.
        args = ["start", "plan.yaml", "--contact", "contact.json", "--vars", "vars.json", "--json"]
        started = await asyncio.to_thread(dee_in_process, monkeypatch, cli_env, tmp_path, args)
        assert started.returncode == 0, started.stderr
        (run,) = json.loads(started.stdout)
        tls = TemporalTlsConfig(
            server_ca_file=pki.ca, client_cert_file=pki.client_cert, client_key_file=pki.client_key
        )
        config = _config(proxy.address, tls, task_queue=queue).model_copy(
            update={
                "database": database,
                "channels": ChannelsConfig(email=EmailConfig(host=mail.host, port=mail.port)),
            }
        )
        engine = await Engine.connect(config)
        final = await until(
            lambda: engine.get_run(run["runId"]),
            lambda r: r.status == "COMPLETED",
            what="the run completing through the worker behind the mTLS proxy",
            timeout=60,
            every=0.2,
        )
        assert final.outcome == "sent"
        assert worker.poll() is None, worker.communicate()
        sent = [m for m in mail.received if "tls@example.com" in m.rcpt_tos]
        assert len(sent) == 1
    finally:
        worker.kill()
        out, err = worker.communicate()
        if engine is not None:
            await engine.close()
    # The proxy (the only address each was given) carried the worker's polls and task
    # completions and the CLI's start.
    assert b"DEE worker on task queue" in out and b"TLS" in out, (out, err)
    assert {
        "PollWorkflowTaskQueue",
        "RespondWorkflowTaskCompleted",
        "PollActivityTaskQueue",
        "StartWorkflowExecution",
    } <= _paths(proxy)


async def test_a_server_that_requires_mtls_refuses_a_client_without_a_good_certificate(
    endpoints: Endpoints,
) -> None:
    pki, proxy = endpoints.pki, endpoints.mtls
    before = proxy.seen.handshakes
    lines = await _refusal(_config(proxy.address, TemporalTlsConfig(server_ca_file=pki.ca)))
    assert lines[0] == (
        f"cannot reach Temporal at {proxy.address}: the server ended the TLS connection; no "
        "client certificate was given: a server that requires mTLS needs "
        "temporal.tls.clientCertFile and clientKeyFile, signed by a CA it trusts"
    )
    assert lines[1].startswith("(the SDK said: ")
    stranger = TemporalTlsConfig(
        server_ca_file=pki.ca,
        client_cert_file=pki.other_client_cert,
        client_key_file=pki.other_client_key,
    )
    lines = await _refusal(_config(proxy.address, stranger))
    assert f"did not accept the client certificate {pki.other_client_cert}" in lines[0]
    assert proxy.seen.handshakes == before  # refused in the handshake: no request got through
    good = stranger.model_copy(
        update={"client_cert_file": pki.client_cert, "client_key_file": pki.client_key}
    )
    await connect(_config(proxy.address, good))  # connecting asks the server for its info
    assert proxy.seen.handshakes > before


async def test_a_server_certificate_the_client_cannot_verify_is_refused(
    endpoints: Endpoints,
) -> None:
    pki, proxy = endpoints.pki, endpoints.tls
    lines = await _refusal(_config(proxy.address, TemporalTlsConfig(server_ca_file=pki.other_ca)))
    assert lines[0] == (
        f"cannot reach Temporal at {proxy.address}: the server's certificate is not signed by "
        f"the CA in {pki.other_ca}: set temporal.tls.serverCaFile "
        "(DEE_TEMPORAL_TLS_SERVER_CA_FILE) to the CA that signed it"
    )
    assert "UnknownIssuer" in lines[1]
    # TLS on but no CA given: the system's roots do not know the test CA.
    lines = await _refusal(_config(proxy.address, TemporalTlsConfig(enabled=True)))
    assert "not signed by the system's CAs" in lines[0]
    # The right CA, but the server is asked to be a name its certificate does not carry.
    misnamed = TemporalTlsConfig(server_ca_file=pki.ca, server_name="temporal.example.com")
    lines = await _refusal(_config(proxy.address, misnamed))
    assert "set temporal.tls.serverName (DEE_TEMPORAL_TLS_SERVER_NAME)" in lines[0]
    named = misnamed.model_copy(update={"server_name": "localhost"})  # one it does carry
    await connect(_config(proxy.address, named))
    # Plain text against TLS, and TLS against plain text, each say which way to turn.
    lines = await _refusal(_config(proxy.address, TemporalTlsConfig()))
    assert "if it expects TLS, turn it on (temporal.tls.enabled: true" in lines[0]
    lines = await _refusal(_config(endpoints.dev.address, TemporalTlsConfig(server_ca_file=pki.ca)))
    assert "the server did not answer in TLS" in lines[0]


async def test_an_api_key_is_sent_as_a_bearer_token_inside_tls_unless_tls_is_turned_off(
    endpoints: Endpoints,
) -> None:
    pki = endpoints.pki
    tls, plain = endpoints.tls, endpoints.plain
    seen = len(tls.seen.headers)
    await connect(_config(tls.address, TemporalTlsConfig(server_ca_file=pki.ca), api_key="k-123"))
    sent = tls.seen.headers[seen:]
    assert sent and all(h.get("authorization") == "Bearer k-123" for h in sent), sent
    # An API key turns TLS on by itself: against a plain-text endpoint the client opens
    # with a TLS hello (0x16) and the key never travels in the clear.
    lines = await _refusal(_config(plain.address, TemporalTlsConfig(), api_key="k-456"))
    assert "an API key turns TLS on" in lines[0]
    # (The proxy may read the hello after the client gave up on the server's answer.)
    hello = await until(
        lambda: _now(plain.seen.not_http2), what="the plain-text proxy reading the TLS hello"
    )
    assert hello[-1][:1] == b"\x16"
    assert "Bearer k-456" not in plain.seen.values("authorization")
    # Turned off explicitly (TLS ends in front of DEE), the key goes as it is.
    off = TemporalTlsConfig(enabled=False)
    await connect(_config(plain.address, off, api_key="k-789"))
    assert "Bearer k-789" in plain.seen.values("authorization")


async def test_a_server_that_refuses_the_api_key_is_named_as_refusing_credentials(
    endpoints: Endpoints,
) -> None:
    pki, proxy = endpoints.pki, endpoints.keyed
    tls = TemporalTlsConfig(server_ca_file=pki.ca)
    lines = await _refusal(_config(proxy.address, tls, api_key="a-wrong-key", namespace="ns.acct"))
    assert lines[0] == (
        f"Temporal at {proxy.address} refused the connection: the server did not accept "
        "DEE's credentials for namespace ns.acct: check the API key (temporal.apiKey or "
        "apiKeyFile, DEE_TEMPORAL_API_KEY), and that it has access to that namespace"
    )
    assert 'message: "Request unauthorized"' in lines[1]
    lines = await _refusal(_config(proxy.address, tls))
    assert "no API key is set (temporal.apiKey or apiKeyFile" in lines[0]
    assert proxy.seen.refused_keys == ["Bearer a-wrong-key", None]
    await connect(_config(proxy.address, tls, api_key=KEY))  # the right one gets through
