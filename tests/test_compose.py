"""docker-compose.yml cannot be started here (no Docker engine), so it is checked by reading."""

from __future__ import annotations

from typing import Any

import yaml

from tests.interpreter.helpers import ROOT


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_every_dependency_names_a_defined_service() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for dep in depends if isinstance(depends, list) else depends.keys():
            assert dep in services, f"{name} depends on undefined service {dep}"


def test_temporal_persists_in_the_compose_postgresql() -> None:
    services = _compose()["services"]
    temporal, pg = services["temporal"]["environment"], services["postgresql"]["environment"]
    assert temporal["POSTGRES_SEEDS"] == "postgresql"
    assert temporal["POSTGRES_USER"] == pg["POSTGRES_USER"]
    assert temporal["POSTGRES_PWD"] == pg["POSTGRES_PASSWORD"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_published_ports_do_not_collide_and_images_are_pinned() -> None:
    services = _compose()["services"]
    published = [p.split(":")[0] for s in services.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned image {image}"


def test_named_volumes_are_declared() -> None:
    doc = _compose()
    declared = set(doc.get("volumes", {}))
    for service in doc["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared


def test_worker_and_receiver_run_the_dee_image_against_the_compose_services() -> None:
    services = _compose()["services"]
    worker, hooks = services["worker"], services["webhooks"]
    assert (ROOT / "Dockerfile").is_file() and worker["build"] == hooks["build"] == "."
    assert worker["image"] == hooks["image"]
    assert worker["command"] == ["dee", "worker"]
    assert hooks["command"][:2] == ["dee", "webhooks"] and "0.0.0.0" in hooks["command"]
    port = hooks["command"][hooks["command"].index("--port") + 1]
    assert f"{port}:{port}" in hooks["ports"]
    for service in (worker, hooks):
        env = service["environment"]
        assert env["DEE_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "@postgresql:5432/" in env["DEE_DATABASE_URL"]
        assert env["DEE_SMTP_HOST"] in services  # the mail catcher
        # the signing secret has no default: compose refuses to start without it
        assert env["DEE_WEBHOOKS_SECRET"].startswith("${DEE_WEBHOOKS_SECRET:?")


def test_every_dee_service_shares_the_required_codec_key_ring() -> None:
    services = _compose()["services"]
    for name in ("worker", "webhooks", "codec-server"):
        keys = services[name]["environment"]["DEE_CODEC_KEYS"]
        # no default: compose refuses to start without keys, rather than each container
        # generating its own key file (payloads one writes, another could not read)
        assert keys.startswith("${DEE_CODEC_KEYS:?"), name
    assert "DEE_CODEC_KEYS" not in services["temporal-ui"]["environment"]
    assert "DEE_CODEC_KEYS" not in services["temporal"]["environment"]


def test_the_web_ui_decodes_through_dee_s_codec_server_with_its_token() -> None:
    services = _compose()["services"]
    codec, ui = services["codec-server"], services["temporal-ui"]
    assert codec["image"] == services["worker"]["image"] and codec["build"] == "."
    assert codec["command"][:2] == ["dee", "codec-server"] and "0.0.0.0" in codec["command"]
    port = codec["command"][codec["command"].index("--port") + 1]
    assert f"{port}:{port}" in codec["ports"]
    endpoint = ui["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    # the browser calls it: the published port on localhost, not the service name
    assert endpoint.startswith(f"http://localhost:{port}/")
    assert endpoint.endswith("${DEE_CODEC_SERVER_TOKEN:?set DEE_CODEC_SERVER_TOKEN}")
    assert codec["environment"]["DEE_CODEC_SERVER_TOKEN"].startswith("${DEE_CODEC_SERVER_TOKEN:?")
    ui_port = ui["ports"][0].split(":")[0]
    origins = codec["environment"]["DEE_CODEC_UI_ORIGINS"].split(",")
    assert f"http://localhost:{ui_port}" in origins
