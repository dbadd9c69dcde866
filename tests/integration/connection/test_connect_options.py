"""The Temporal connection settings: from the settings file and ``DEE_TEMPORAL_*``
variables to the arguments of the SDK's ``Client.connect``, and every setting that
cannot be used refused before dialling, naming the setting, its variable and the file.

No server: ``test_tls_endpoint.py`` connects through real TLS proxies.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from temporalio.service import TLSConfig

from dee.config import ENV_FIELDS, EngineConfig, EnvOverrides, load_config
from dee.errors import DocumentError
from dee.temporal_access import connect_options
from tests.integration.connection.pki import Pki, make_pki
from tests.integration.inprocess import dee_in_process


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``dee worker`` (in this process) with ``env``: each case here fails before it
    dials; should one not, port 9 (discard) refuses the connection, so it cannot hang."""
    base = {"DEE_TEMPORAL_ADDRESS": "127.0.0.1:9", "DEE_DATA_DIR": str(tmp_path)}
    return dee_in_process(monkeypatch, {**base, **env}, tmp_path, ["worker"])


def test_every_variable_maps_to_a_field_of_the_overrides() -> None:
    names = {name.removeprefix("DEE_").lower() for name in ENV_FIELDS}
    assert names <= set(EnvOverrides.model_fields)


def test_the_default_is_plain_text_without_a_key() -> None:
    options = connect_options(EngineConfig())
    assert (options.target, options.namespace, options.tls, options.api_key) == (
        "localhost:7233", "default", False, None,
    )  # fmt: skip


def test_the_variables_set_every_tls_and_key_setting(pki: Pki, tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("  cloud-key-1\n")  # as an editor or a secret mount leaves it
    config = load_config(
        env={
            "DEE_TEMPORAL_ADDRESS": "prod.a1b2c.tmprl.cloud:7233",
            "DEE_TEMPORAL_NAMESPACE": "prod.a1b2c",
            "DEE_TEMPORAL_TLS_SERVER_CA_FILE": str(pki.ca),
            "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE": str(pki.client_cert),
            "DEE_TEMPORAL_TLS_CLIENT_KEY_FILE": str(pki.client_key),
            "DEE_TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
            "DEE_TEMPORAL_API_KEY_FILE": str(key_file),
        }
    )
    options = connect_options(config)
    assert options.target == "prod.a1b2c.tmprl.cloud:7233"
    assert options.namespace == "prod.a1b2c"
    assert options.api_key == "cloud-key-1"
    assert options.tls == TLSConfig(
        server_root_ca_cert=pki.ca.read_bytes(),
        domain="temporal.internal",
        client_cert=pki.client_cert.read_bytes(),
        client_private_key=pki.client_key.read_bytes(),
    )
    assert "cloud-key-1" not in repr(options) and "cloud-key-1" not in repr(config)


def test_an_api_key_turns_tls_on_unless_it_is_turned_off(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("temporal: {address: 'ns.acct.tmprl.cloud:7233', apiKey: k-1}\n")
    options = connect_options(load_config(settings, env={}))
    # An empty TLSConfig: TLS with the system's roots, as Temporal Cloud's endpoint needs.
    assert (options.tls, options.api_key) == (TLSConfig(), "k-1")
    off = connect_options(load_config(settings, env={"DEE_TEMPORAL_TLS": "false"}))
    assert (off.tls, off.api_key) == (False, "k-1")
    on = connect_options(load_config(env={"DEE_TEMPORAL_TLS": "true"}))
    assert (on.tls, on.api_key) == (TLSConfig(), None)


def _encrypted_key(pki: Pki, path: Path) -> Path:
    key = serialization.load_pem_private_key(pki.client_key.read_bytes(), password=None)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    return path


def test_settings_that_cannot_be_used_are_refused_naming_the_setting_and_file(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN NOTHING-----\nnot base64 at all\n-----END NOTHING-----\n")
    empty = tmp_path / "empty-key"
    empty.write_text("\n")
    encrypted = _encrypted_key(pki, tmp_path / "encrypted-key.pem")
    ca = "DEE_TEMPORAL_TLS_SERVER_CA_FILE"
    cert, key = "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE", "DEE_TEMPORAL_TLS_CLIENT_KEY_FILE"
    mtls = {cert: str(pki.client_cert), key: str(pki.client_key)}
    cases: list[tuple[dict[str, str], str]] = [
        (
            {ca: str(missing)},
            f"configuration temporal.tls.serverCaFile ({ca}): {missing}: cannot read it: "
            "No such file or directory",
        ),
        (
            {ca: str(tmp_path)},
            f"configuration temporal.tls.serverCaFile ({ca}): {tmp_path}: cannot read it: "
            "Is a directory",
        ),
        (
            {ca: str(garbage)},
            f"configuration temporal.tls.serverCaFile ({ca}): {garbage}: holds no PEM certificate",
        ),
        (
            {cert: str(pki.client_cert)},
            "clientCertFile and clientKeyFile go together: mTLS needs both",
        ),
        (
            {key: str(pki.client_key)},
            "clientCertFile and clientKeyFile go together: mTLS needs both",
        ),
        (
            {**mtls, cert: str(pki.client_key)},  # the key where the certificate belongs
            f"configuration temporal.tls.clientCertFile ({cert}): {pki.client_key}: "
            "holds no PEM certificate",
        ),
        (
            {**mtls, key: str(pki.client_cert)},  # and the other way round
            f"configuration temporal.tls.clientKeyFile ({key}): {pki.client_cert}: "
            "holds no PEM private key",
        ),
        (
            {**mtls, key: str(pki.other_client_key)},
            f"configuration temporal.tls.clientKeyFile ({key}): {pki.other_client_key}: is not "
            f"the key of the client certificate {pki.client_cert}",
        ),
        (
            {cert: str(pki.expired_client_cert), key: str(pki.expired_client_key)},
            f"configuration temporal.tls.clientCertFile ({cert}): {pki.expired_client_cert}: "
            "the certificate expired at ",
        ),
        (
            {**mtls, key: str(encrypted)},
            f"configuration temporal.tls.clientKeyFile ({key}): {encrypted}: the key is "
            "encrypted with a passphrase; give it unencrypted",
        ),
        (
            {"DEE_TEMPORAL_TLS": "false", ca: str(pki.ca)},
            "enabled is false, but a server CA, client certificate or server name is set",
        ),
        (
            {"DEE_TEMPORAL_API_KEY_FILE": str(empty)},
            f"configuration temporal.apiKeyFile (DEE_TEMPORAL_API_KEY_FILE): {empty}: is empty",
        ),
        (
            {"DEE_TEMPORAL_API_KEY": "k", "DEE_TEMPORAL_API_KEY_FILE": str(empty)},
            "apiKey and apiKeyFile are both set: give the API key once",
        ),
        (
            {"DEE_TEMPORAL_API_KEY": "two words"},
            "configuration temporal.apiKey (DEE_TEMPORAL_API_KEY): the API key holds a space, "
            "a control or a non-ASCII character",
        ),
        (
            {ca: "/dev/zero"},
            f"configuration temporal.tls.serverCaFile ({ca}): /dev/zero: is larger than "
            "1048576 bytes",
        ),
        (
            {"DEE_TEMPORAL_TLS": "maybe"},
            "configuration DEE_TEMPORAL_TLS: Input should be a valid boolean",
        ),
    ]
    for env, expected in cases:
        with pytest.raises(DocumentError) as refused:
            connect_options(load_config(env=env))
        (line,) = refused.value.lines
        assert line.startswith("configuration ") and expected in line, (env, line)
    # Through the worker command: exit 1, one line, no traceback (dee_in_process fails on
    # one), nothing dialled. (A file's refusal, through the other commands, below.)
    env, expected = cases[3]
    result = _worker(monkeypatch, tmp_path, env)
    assert result.returncode == 1, (env, result.stdout)
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert result.stderr.startswith("error: configuration temporal.tls: "), result.stderr


def test_a_key_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_bytes(b"\xff\xfe key")
    config = load_config(env={"DEE_TEMPORAL_API_KEY_FILE": str(key_file)})
    with pytest.raises(DocumentError) as refused:
        connect_options(config)
    assert refused.value.lines == (
        f"configuration temporal.apiKeyFile (DEE_TEMPORAL_API_KEY_FILE): {key_file}: "
        "is not UTF-8 text",
    )


def test_the_receiver_and_the_cli_connect_with_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each builds its client through dee.connection: a CA file that cannot be read
    # stops it the same way (the receiver before it listens).
    missing = tmp_path / "ca.pem"
    env = {
        "DEE_TEMPORAL_ADDRESS": "127.0.0.1:9",
        "DEE_DATA_DIR": str(tmp_path),
        "DEE_TEMPORAL_TLS_SERVER_CA_FILE": str(missing),
    }
    expected = (
        "error: configuration temporal.tls.serverCaFile (DEE_TEMPORAL_TLS_SERVER_CA_FILE): "
        f"{missing}: cannot read it: No such file or directory\n"
    )
    for command in (["webhooks"], ["runs", "list"], ["run", "status", "run-1"]):
        result = dee_in_process(monkeypatch, env, tmp_path, command)
        assert (result.returncode, result.stderr) == (1, expected), command
        assert "receiver on" not in result.stdout
