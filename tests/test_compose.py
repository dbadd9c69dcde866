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


INIT_DIR = "./scripts/postgres-init"


def _init_sql() -> str:
    return "".join(p.read_text() for p in sorted((ROOT / INIT_DIR).glob("*.sh")))


def _user(url: str) -> str:
    return url.split("://", 1)[1].split(":", 1)[0]


def test_temporal_persists_in_its_own_database_as_its_own_role() -> None:
    services = _compose()["services"]
    temporal, pg = services["temporal"]["environment"], services["postgresql"]["environment"]
    assert temporal["POSTGRES_SEEDS"] == "postgresql"
    assert temporal["POSTGRES_USER"] == "temporal" != pg["POSTGRES_USER"]  # not the superuser
    # no default password: compose refuses to start without one
    assert temporal["POSTGRES_PWD"].startswith("${TEMPORAL_DB_PASSWORD:?")
    # the init script made the databases (no CREATEDB): the schema service only fills them
    schema_env = services["temporal-schema"]["environment"]
    assert schema_env["TEMPORAL_DBNAME"] == temporal["DBNAME"]
    sql = _init_sql()
    assert "CREATE ROLE temporal LOGIN PASSWORD :'temporal_password'" in sql
    for database in (temporal["DBNAME"], temporal["VISIBILITY_DBNAME"]):
        assert f"CREATE DATABASE {database} OWNER temporal;" in sql
    assert "REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC" in sql
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_init_script_is_mounted_and_creates_every_role_the_services_use() -> None:
    services = _compose()["services"]
    pg = services["postgresql"]
    assert f"{INIT_DIR}:/docker-entrypoint-initdb.d:ro" in pg["volumes"]
    sql = _init_sql()
    users = {_user(services["migrate"]["environment"]["DEE_DATABASE_MIGRATION_URL"])}
    users |= {_user(s["environment"]["DEE_DATABASE_URL"]) for s in _dee_services(services)}
    users.add(_user(services["audit-archive"]["environment"]["DEE_DATABASE_RETENTION_URL"]))
    assert users == {"dee_owner", "dee_app", "dee_retention"}
    for user in users:
        assert f"CREATE ROLE {user} LOGIN PASSWORD" in sql
        # Every password variable the script reads is passed to the container.
        variable = f"DEE_{user.removeprefix('dee_').upper()}_DB_PASSWORD"
        assert f'"${variable}"' in sql and variable in pg["environment"]
    assert "CREATE DATABASE dee OWNER dee_owner;" in sql
    assert "REVOKE ALL ON DATABASE dee FROM PUBLIC" in sql


def _dee_services(services: dict[str, Any]) -> list[dict[str, Any]]:
    return [services["worker"], services["webhooks"]]


def test_the_application_connects_as_the_app_role_after_a_one_shot_migration() -> None:
    services = _compose()["services"]
    superuser = services["postgresql"]["environment"]["POSTGRES_USER"]
    migrate = services["migrate"]
    assert migrate["command"] == ["dee", "db", "migrate"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert _user(migrate["environment"]["DEE_DATABASE_MIGRATION_URL"]) == "dee_owner"
    for service in _dee_services(services):
        env = service["environment"]
        assert _user(env["DEE_DATABASE_URL"]) == "dee_app" != superuser
        # No owner or retention credentials in the long-running services.
        assert "DEE_DATABASE_MIGRATION_URL" not in env
        assert "DEE_DATABASE_RETENTION_URL" not in env
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    archive = services["audit-archive"]
    assert archive["command"] == ["dee", "audit", "archive"] and archive["profiles"] == ["tools"]
    assert "DEE_DATABASE_URL" not in archive["environment"]


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


def test_worker_and_receiver_share_the_privacy_key_and_the_worker_keeps_its_signing_key() -> None:
    services = _compose()["services"]
    for name in ("worker", "webhooks"):
        key = services[name]["environment"]["DEE_PRIVACY_MASTER_KEY"]
        # no default: a container generating its own key would pseudonymise a reply's
        # sender differently from the worker, and a suppression would no longer match
        assert key.startswith("${DEE_PRIVACY_MASTER_KEY:?"), name
    worker = services["worker"]
    data_dir = worker["environment"]["DEE_DATA_DIR"]
    # The signing key is generated under the data dir: it must outlive the container.
    assert any(v.split(":")[1] == data_dir for v in worker["volumes"]), worker["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"chown nobody {data_dir}" in dockerfile and "USER nobody" in dockerfile
