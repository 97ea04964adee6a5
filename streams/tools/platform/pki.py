"""The local broker's secrets: a certificate authority, the node's certificate and one
SCRAM password per principal, made once under the broker's home, owner-only.

Made here (with ``cryptography``) rather than by openssl or keytool so a fresh clone
needs nothing else, and so no secret ever appears on a command line. A deployment
brings its own CA and passwords; nothing here is used outside the local broker.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NODE_PRINCIPAL = "frontdoor-node"  # the node's certificate CN: its principal on mTLS
HOSTS = ("127.0.0.1", "localhost")
VALID_DAYS = 825


@dataclass(frozen=True)
class Secrets:
    """Where the local broker's secrets live (a directory only its owner can enter)."""

    root: Path

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def node_file(self) -> Path:
        """The node's private key and certificate chain (a Kafka PEM keystore)."""
        return self.root / "node.pem"

    def password_file(self, principal: str) -> Path:
        return self.root / "passwords" / principal

    def password(self, principal: str) -> str:
        return self.password_file(principal).read_text().strip()


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, created with that mode (never widened)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "frontdoor local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(
    store: Secrets, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("frontdoor local CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    write_private(store.root / "ca.key", _pem_key(key))
    write_private(store.ca_file, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    now: dt.datetime,
    hosts: tuple[str, ...] = HOSTS,
) -> bytes:
    """A key and certificate (server and client use) for ``hosts``, as one PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [_general_name(h) for h in hosts]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    return _pem_key(key) + chain


def ensure(root: Path, principals: list[str], hosts: tuple[str, ...] = HOSTS) -> Secrets:
    """Make what is missing: the CA and node certificate (for ``hosts``) once, a password
    per principal."""
    store = Secrets(root.resolve())
    store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(store.root, 0o700)
    now = dt.datetime.now(dt.UTC)
    if not store.node_file.exists():
        ca_key, ca_cert = _make_ca(store, now)
        write_private(store.node_file, issue(ca_key, ca_cert, NODE_PRINCIPAL, now, hosts))
    for principal in principals:
        path = store.password_file(principal)
        if not path.exists():
            write_private(path, secrets.token_urlsafe(24).encode())
    return store


def server_certificate(store: Secrets, name: str, hosts: tuple[str, ...] = HOSTS) -> Path:
    """A key and certificate of its own for a local service (the HTTPS gateway), signed by
    the local CA, made once: ``<name>.pem`` (key first, then the chain)."""
    path = store.root / f"{name}.pem"
    if not path.exists():
        ca_key = serialization.load_pem_private_key((store.root / "ca.key").read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(store.ca_file.read_bytes())
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError("the local CA key is not an EC key")
        write_private(path, issue(ca_key, ca_cert, name, dt.datetime.now(dt.UTC), hosts))
    return path


def key_and_chain(store: Secrets, name: str, hosts: tuple[str, ...] = HOSTS) -> tuple[Path, Path]:
    """A local service's key and its certificate chain as two files (some servers, such as
    Keycloak, take them apart): ``<name>.key`` and ``<name>.crt``, owner-only, made once."""
    combined = server_certificate(store, name, hosts)
    key, chain = store.root / f"{name}.key", store.root / f"{name}.crt"
    if not key.exists() or not chain.exists():
        text = combined.read_bytes()
        split = text.index(b"-----BEGIN CERTIFICATE-----")
        write_private(key, text[:split])
        write_private(chain, text[split:])
    return key, chain
