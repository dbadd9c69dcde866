"""The dev server's Web UI pointed at ``dee codec-server``, as ``dee demo --serve`` does it:
the UI's settings name the endpoint, and a call the way the UI's browser code makes it
(preflight from the UI's origin, then ``POST {endpoint}/decode``) gets the payloads
decoded; the same call without the token's endpoint is refused."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx

from adapters.codec import generate_key_line
from dee.codec_config import CodecConfig
from dee.codec_server import codec_server
from dee.config import EngineConfig
from dee.connection import data_converter
from dee.devserver import dev_server, free_port
from tests.integration.waiting import until

PII = "linus.torvalds-0x5@kernels.example"


async def test_the_ui_is_pointed_at_the_codec_server_and_its_calls_are_decoded() -> None:
    port, token = free_port(), "ui-" + base64.urlsafe_b64encode(b"x" * 12).decode()
    endpoint = f"http://127.0.0.1:{port}/{token}"
    async with dev_server(ui_codec_endpoint=endpoint) as dev:
        assert dev.ui_url is not None
        async with httpx.AsyncClient(timeout=30) as http:
            settings = (await http.get(f"{dev.ui_url}/api/v1/settings")).json()
            assert settings["Codec"]["Endpoint"] == endpoint

            config = EngineConfig(
                codec=CodecConfig(keys=(generate_key_line("ui-1"),), ui_origins=(dev.ui_url,))
            )
            converter = data_converter(config)
            [plain] = converter.payload_converter.to_payloads([{"email": PII}])
            assert converter.payload_codec is not None
            [sealed] = await converter.payload_codec.encode([plain])
            body = {
                "payloads": [
                    {
                        "metadata": {
                            k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()
                        },
                        "data": base64.b64encode(sealed.data).decode(),
                    }
                ]
            }
            server = codec_server(config, token, port=port)
            serving = asyncio.create_task(server.serve())
            try:
                await until(lambda: asyncio.sleep(0, server.started), bool, what="codec up")
                origin = {"Origin": dev.ui_url, "X-Namespace": "default"}
                preflight = await http.options(
                    f"{endpoint}/decode",
                    headers={**origin, "Access-Control-Request-Method": "POST"},
                )
                assert preflight.status_code == 204
                assert preflight.headers["access-control-allow-origin"] == dev.ui_url
                decoded = await http.post(f"{endpoint}/decode", json=body, headers=origin)
                assert decoded.status_code == 200, decoded.text
                data = base64.b64decode(decoded.json()["payloads"][0]["data"])
                assert json.loads(data) == {"email": PII}
                refused = await http.post(
                    f"http://127.0.0.1:{port}/decode", json=body, headers=origin
                )
                assert refused.status_code == 401 and PII not in refused.text
            finally:
                server.should_exit = True
                await serving
