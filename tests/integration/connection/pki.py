"""Certificates made at test time: a CA, a server certificate for 127.0.0.1 and
localhost, a client certificate, and a second CA that signed neither.

EC P-256 keys: generating them takes microseconds, where RSA keys take a noticeable
fraction of a second each.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Certificates are checked against the real clock by both ends: valid from an hour ago.
_NOW = datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True, slots=True)
class Pki:
    """Paths of the PEM files in one directory."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    other_client_cert: Path  # signed by ``other_ca``: a client the server must refuse
    other_client_key: Path
    expired_client_cert: Path  # signed by ``ca``, but its validity ended yesterday
    expired_client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, *, expired: bool = False
) -> x509.CertificateBuilder:
    shift = datetime.timedelta(days=-3 if expired else 0)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW + shift - datetime.timedelta(hours=1))
        .not_valid_after(_NOW + shift + datetime.timedelta(days=1))
    )


_CA_USAGE = x509.KeyUsage(
    digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
    key_encipherment=False, data_encipherment=False, key_agreement=False,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (
        _builder(name, _name(name), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    subject: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    usage: x509.ObjectIdentifier,
    names: list[x509.GeneralName],
    *,
    expired: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _key()
    builder = (
        _builder(subject, ca_cert.subject, key, expired=expired)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: Path, item: x509.Certificate | ec.EllipticCurvePrivateKey) -> Path:
    if isinstance(item, x509.Certificate):
        path.write_bytes(item.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            item.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def make_pki(directory: Path) -> Pki:
    """Write a fresh CA, server and client certificates (and a stranger CA) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca("DEE test CA")
    other = _ca("Some other CA")
    server_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    server = _leaf("temporal.test", ca, ExtendedKeyUsageOID.SERVER_AUTH, server_names)
    client = _leaf("dee-worker", ca, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    stranger = _leaf("dee-stranger", other, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    expired = _leaf("dee-expired", ca, ExtendedKeyUsageOID.CLIENT_AUTH, [], expired=True)
    return Pki(
        ca=_write(directory / "ca.pem", ca[0]),
        server_cert=_write(directory / "server.pem", server[0]),
        server_key=_write(directory / "server-key.pem", server[1]),
        client_cert=_write(directory / "client.pem", client[0]),
        client_key=_write(directory / "client-key.pem", client[1]),
        other_ca=_write(directory / "other-ca.pem", other[0]),
        other_client_cert=_write(directory / "other-client.pem", stranger[0]),
        other_client_key=_write(directory / "other-client-key.pem", stranger[1]),
        expired_client_cert=_write(directory / "expired-client.pem", expired[0]),
        expired_client_key=_write(directory / "expired-client-key.pem", expired[1]),
    )
