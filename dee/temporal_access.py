"""What a client presents to Temporal: its TLS settings and API key, read and checked.

``connect_options`` turns ``config.temporal`` into the arguments of the SDK's
``Client.connect`` (``temporalio.service.TLSConfig``, ``api_key``), reading the
certificate, key and API-key files it names. Everything that can be checked before
dialling is: a missing or unreadable file, a file holding no certificate or no key, a
key encrypted with a passphrase (the SDK cannot use it), a key that is not the
certificate's. Each problem is a ``DocumentError`` naming the setting, the variable
that sets it and the file, so a misconfigured worker stops at once with one clear line
instead of a TLS error from deep inside the SDK, or none until its first poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from temporalio.service import TLSConfig

from dee.config import EngineConfig
from dee.errors import DocumentError

# Each file setting: its name in the settings file, and the variable that sets it.
SERVER_CA = ("temporal.tls.serverCaFile", "DEE_TEMPORAL_TLS_SERVER_CA_FILE")
CLIENT_CERT = ("temporal.tls.clientCertFile", "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE")
CLIENT_KEY = ("temporal.tls.clientKeyFile", "DEE_TEMPORAL_TLS_CLIENT_KEY_FILE")
API_KEY_FILE = ("temporal.apiKeyFile", "DEE_TEMPORAL_API_KEY_FILE")
# A certificate chain or a key is a few kilobytes; an API key (a JWT) well under one.
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """The arguments DEE passes to ``Client.connect``.

    ``tls`` is ``False`` for plain text, else the SDK's TLS settings (an empty
    ``TLSConfig`` verifies the server against the system's roots).
    """

    target: str
    namespace: str
    tls: TLSConfig | bool
    api_key: str | None = field(default=None, repr=False)


def _problem(setting: tuple[str, str], path: Path, what: str) -> DocumentError:
    name, variable = setting
    return DocumentError([f"configuration {name} ({variable}): {path}: {what}"])


def _read(setting: tuple[str, str], path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            # Bounded: a setting pointed at a device or a log must not fill the memory.
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _problem(setting, path, f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _problem(setting, path, f"is larger than {MAX_FILE_BYTES} bytes")
    return data


def _certificates(setting: tuple[str, str], path: Path) -> tuple[bytes, list[x509.Certificate]]:
    data = _read(setting, path)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise _problem(setting, path, "holds no PEM certificate") from None
    return data, certificates


def _private_key(path: Path, certificate: x509.Certificate, cert_path: Path) -> bytes:
    data = _read(CLIENT_KEY, path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's answer for a key that needs a passphrase
        raise _problem(
            CLIENT_KEY, path, "the key is encrypted with a passphrase; give it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise _problem(CLIENT_KEY, path, "holds no PEM private key") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(
        encoding, public
    ):
        raise _problem(CLIENT_KEY, path, f"is not the key of the client certificate {cert_path}")
    return data


def _in_force(path: Path, certificate: x509.Certificate) -> None:
    """The client certificate is valid now: a server would refuse it without saying why."""
    now = datetime.now(UTC)
    if certificate.not_valid_after_utc < now:
        ended = certificate.not_valid_after_utc.isoformat(timespec="seconds")
        raise _problem(CLIENT_CERT, path, f"the certificate expired at {ended}")
    if certificate.not_valid_before_utc > now:
        starts = certificate.not_valid_before_utc.isoformat(timespec="seconds")
        raise _problem(CLIENT_CERT, path, f"the certificate is not valid before {starts}")


def _api_key(config: EngineConfig) -> str | None:
    temporal = config.temporal
    if temporal.api_key_file is None:
        key = temporal.api_key
        where = "configuration temporal.apiKey (DEE_TEMPORAL_API_KEY)"
    else:
        path = temporal.api_key_file
        try:
            key = _read(API_KEY_FILE, path).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise _problem(API_KEY_FILE, path, "is not UTF-8 text") from None
        if not key:
            raise _problem(API_KEY_FILE, path, "is empty")
        where = f"configuration {API_KEY_FILE[0]} ({API_KEY_FILE[1]}): {path}"
    # The key travels as an HTTP/2 header value: anything else would fail inside the
    # SDK with a message that names no setting.
    if key is not None and not all(" " < ch <= "~" for ch in key):
        raise DocumentError(
            [f"{where}: the API key holds a space, a control or a non-ASCII character"]
        )
    return key


def tls_config(config: EngineConfig) -> TLSConfig | bool:
    """``False`` for plain text, else the SDK's ``TLSConfig`` with the files' contents.

    Raises:
        DocumentError: a file cannot be read or does not hold what its setting says.
    """
    if not config.temporal.uses_tls:
        return False
    tls = config.temporal.tls
    ca = None
    if tls.server_ca_file is not None:
        ca, _ = _certificates(SERVER_CA, tls.server_ca_file)
    cert = key = None
    if tls.client_cert_file is not None and tls.client_key_file is not None:
        cert, chain = _certificates(CLIENT_CERT, tls.client_cert_file)
        _in_force(tls.client_cert_file, chain[0])
        key = _private_key(tls.client_key_file, chain[0], tls.client_cert_file)
    return TLSConfig(
        server_root_ca_cert=ca, domain=tls.server_name, client_cert=cert, client_private_key=key
    )


def connect_options(config: EngineConfig, *, address: str | None = None) -> ConnectOptions:
    """The ``Client.connect`` arguments for ``config``'s Temporal (or ``address``).

    Raises:
        DocumentError: a TLS or API-key setting cannot be used (the line names it).
    """
    return ConnectOptions(
        target=address or config.temporal.address,
        namespace=config.temporal.namespace,
        tls=tls_config(config),
        api_key=_api_key(config),
    )


_CLIENT_CERT_ALERTS = ("CertificateRequired", "BadCertificate", "UnknownCA", "AccessDenied")


def failure_hint(config: EngineConfig, message: str) -> str | None:
    """What the SDK's connection error most likely means for ``config``'s settings.

    The SDK reports TLS problems as the Rust transport's debug text
    (``InvalidCertificate(UnknownIssuer)``, an unexpected end of stream ...): this
    names the setting to look at. ``None`` when the error says nothing about TLS.
    """
    tls = config.temporal.tls
    ca = f"the CA in {tls.server_ca_file}" if tls.server_ca_file else "the system's CAs"
    if "UnknownIssuer" in message:
        return (
            f"the server's certificate is not signed by {ca}: set temporal.tls.serverCaFile "
            "(DEE_TEMPORAL_TLS_SERVER_CA_FILE) to the CA that signed it"
        )
    if "NotValidForName" in message:
        return (
            "the server's certificate does not carry the name DEE checked: set "
            "temporal.tls.serverName (DEE_TEMPORAL_TLS_SERVER_NAME) to a name it carries"
        )
    if not config.temporal.uses_tls:
        if "transport error" in message:
            return (
                "the server closed the connection: if it expects TLS, turn it on "
                "(temporal.tls.enabled: true, DEE_TEMPORAL_TLS=true)"
            )
        return None
    if "InvalidContentType" in message or "InvalidMessage" in message:
        return (
            "the server did not answer in TLS: for a plain-text server, set "
            "temporal.tls.enabled: false (DEE_TEMPORAL_TLS=false); an API key turns TLS on"
        )
    # TLS 1.3 servers check the client's certificate after the client's side of the
    # handshake is done: the refusal comes as the server's alert, or as the connection
    # ending under the first call, depending on which the client reads first.
    ended = "after connection" in message and "Transport" in message
    if ended or any(alert in message for alert in _CLIENT_CERT_ALERTS):
        given = (
            "no client certificate was given"
            if tls.client_cert_file is None
            else (f"the server did not accept the client certificate {tls.client_cert_file}")
        )
        return (
            f"the server ended the TLS connection; {given}: a server that requires mTLS "
            "needs temporal.tls.clientCertFile and clientKeyFile, signed by a CA it trusts"
        )
    return None


def _credentials_hint(config: EngineConfig) -> str:
    temporal = config.temporal
    if temporal.api_key is None and temporal.api_key_file is None:
        given = "no API key is set (temporal.apiKey or apiKeyFile, DEE_TEMPORAL_API_KEY)"
    else:
        given = "check the API key (temporal.apiKey or apiKeyFile, DEE_TEMPORAL_API_KEY)"
    return (
        f"the server did not accept DEE's credentials for namespace {temporal.namespace}: "
        f"{given}, and that it has access to that namespace"
    )


# The SDK's words (a tonic status) for a server that answered and refused the caller.
_REFUSED_CALLER = ("code: Unauthenticated", "code: PermissionDenied")


def failure_lines(config: EngineConfig, target: str, message: str) -> list[str]:
    """The lines of the error for the SDK's connection failure ``message``: one naming
    the setting to look at where the message points at one, then the SDK's own words."""
    said = f"(the SDK said: {message})"
    if any(code in message for code in _REFUSED_CALLER):
        return [f"Temporal at {target} refused the connection: {_credentials_hint(config)}", said]
    hint = failure_hint(config, message)
    if hint is None:
        return [f"cannot reach Temporal at {target}: {message}"]
    return [f"cannot reach Temporal at {target}: {hint}", said]


__all__ = ["ConnectOptions", "connect_options", "failure_hint", "failure_lines", "tls_config"]
