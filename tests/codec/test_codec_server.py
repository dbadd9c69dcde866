"""``dee codec-server``'s protocol, driven over HTTP as the Temporal Web UI and CLI drive it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.converter import DataConverter

from adapters.codec import EncryptionCodec, KeyRing, generate_key_line
from dee.codec_server import MAX_BODY, create_app

TOKEN = "s3cret-codec-token"
UI = "http://localhost:8233"
KEYS = KeyRing.parse([generate_key_line("k1")])
PII = "grace.hopper-19@compilers.example"


def _plain_json() -> dict[str, object]:
    payload = DataConverter.default.payload_converter.to_payloads([{"email": PII}])[0]
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
                "data": base64.b64encode(payload.data).decode(),
            }
        ]
    }


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(EncryptionCodec(KEYS), TOKEN, frozenset({UI}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        yield client


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Origin": UI, "X-Namespace": "default"}


async def test_encode_then_decode_round_trips_and_the_encoded_form_hides_the_value(
    http: httpx.AsyncClient,
) -> None:
    encoded = await http.post("/encode", json=_plain_json(), headers=_auth())
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert PII.encode() not in base64.b64decode(sealed["data"])
    decoded = await http.post("/decode", json=encoded.json(), headers=_auth())
    assert decoded.status_code == 200
    assert decoded.headers["access-control-allow-origin"] == UI
    [back] = decoded.json()["payloads"]
    assert json.loads(base64.b64decode(back["data"])) == {"email": PII}


async def test_the_namespace_path_form_and_the_token_in_the_path_are_served(
    http: httpx.AsyncClient,
) -> None:
    encoded = (await http.post("/encode", json=_plain_json(), headers=_auth())).json()
    by_namespace = await http.post("/default/decode", json=encoded, headers=_auth())
    assert by_namespace.status_code == 200
    # A Web UI without sign-in cannot add a header: its endpoint carries the token.
    in_path = await http.post(f"/{TOKEN}/decode", json=encoded, headers={"Origin": UI})
    assert in_path.status_code == 200
    assert PII in base64.b64decode(in_path.json()["payloads"][0]["data"]).decode()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
async def test_without_the_token_nothing_is_decoded(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    encoded = (await http.post("/encode", json=_plain_json(), headers=_auth())).json()
    for path in ("/decode", "/encode", "/wrong-token/decode", "/default/decode"):
        refused = await http.post(path, json=encoded, headers={**headers, "Origin": UI})
        assert refused.status_code == 401, (path, refused.text)
        assert "codec token" in refused.json()["error"]
        assert PII not in refused.text
        # the browser can read the refusal (so the UI shows it instead of a CORS error)
        assert refused.headers["access-control-allow-origin"] == UI


async def test_the_ui_preflight_is_answered_and_another_origin_is_refused(
    http: httpx.AsyncClient,
) -> None:
    asked = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    ok = await http.options("/decode", headers=asked)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == UI
    assert "POST" in ok.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in ok.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert ok.headers["access-control-allow-credentials"] == "true"
    evil = await http.options("/decode", headers={**asked, "Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers
    posted = await http.post(
        "/encode", json=_plain_json(), headers={**_auth(), "Origin": "http://evil.example"}
    )
    assert "access-control-allow-origin" not in posted.headers  # the browser will not read it


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"payloads": "nope"}',
        b'{"payloads": [{"data": "***"}]}',
        b'{"payload": []}',
        b"\xff\xfe",
        # Hostile nesting past the JSON parser's stack: a 400, not a 500 (RecursionError).
        b"[" * 200_000,
        b'{"payloads": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    ],
)
async def test_a_malformed_body_is_a_400_naming_the_expected_shape(
    http: httpx.AsyncClient, body: bytes
) -> None:
    answer = await http.post("/decode", content=body, headers=_auth())
    assert answer.status_code == 400, answer.text
    assert "the body is not JSON {'payloads': [...]} of Temporal payloads" in answer.json()["error"]


async def test_a_payload_under_an_unknown_key_or_tampered_is_refused_naming_the_key(
    http: httpx.AsyncClient,
) -> None:
    other = EncryptionCodec(KeyRing.parse([generate_key_line("k-elsewhere")]))
    app = create_app(other, TOKEN, frozenset({UI}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://other"
    ) as elsewhere:
        foreign = (await elsewhere.post("/encode", json=_plain_json(), headers=_auth())).json()
    unknown = await http.post("/decode", json=foreign, headers=_auth())
    assert unknown.status_code == 422
    assert "'k-elsewhere'" in unknown.json()["error"]
    ours = (await http.post("/encode", json=_plain_json(), headers=_auth())).json()
    data = bytearray(base64.b64decode(ours["payloads"][0]["data"]))
    data[20] ^= 1
    ours["payloads"][0]["data"] = base64.b64encode(bytes(data)).decode()
    tampered = await http.post("/decode", json=ours, headers=_auth())
    assert tampered.status_code == 422
    assert "'k1' fails authentication" in tampered.json()["error"]


async def test_other_paths_and_oversized_bodies_are_refused(http: httpx.AsyncClient) -> None:
    assert (await http.post("/download", json=_plain_json(), headers=_auth())).status_code == 404
    assert (await http.get("/decode", headers=_auth())).status_code == 405
    huge = b'{"payloads": []' + b" " * MAX_BODY + b"}"
    assert (await http.post("/decode", content=huge, headers=_auth())).status_code == 413


async def test_a_hostile_key_id_is_not_echoed_whole(http: httpx.AsyncClient) -> None:
    forged = {
        "payloads": [
            {
                "metadata": {
                    "encoding": base64.b64encode(b"binary/encrypted").decode(),
                    "encryption-key-id": base64.b64encode(b"k" * 100_000).decode(),
                },
                "data": base64.b64encode(b"x" * 40).decode(),
            }
        ]
    }
    answer = await http.post("/decode", json=forged, headers=_auth())
    assert answer.status_code == 422
    assert len(answer.text) < 1_000 and "(100000 chars)" in answer.json()["error"]
