"""A small certificate authority for the lab and tests (``ipsecctl pki ca init``, ``issue``).

Why the product carries one: certificate-authenticated tunnels must be testable without a real
SCEP server. Real Cisco ends enrol with their CA over SCEP (the generated ``crypto pki
trustpoint`` / ``crypto ca trustpoint`` lines); strongSwan ends load files this CA issues, laid
out the way swanctl reads them (``x509/``, ``private/``, ``x509ca/``).

Every operation uses the ``cryptography`` package (never hand-rolled crypto). RSA 2048 keys,
SHA-256 signatures; private keys are written PKCS#1 PEM (what strongSwan's pkcs1/openssl
plugins load), 0600 in 0700 folders; certificates carry the subject alternative names the
peers check (DNS name, IP address).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ipsecctl import errors
from ipsecctl.transport import private_dir, write_private

CA_KEY = "ca.key"
CA_CERT = "ca.pem"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def default_ca_dir() -> Path:
    from ipsecctl.settings import state_dir

    return state_dir() / "pki" / "ca"


@dataclass(frozen=True)
class Issued:
    name: str
    subject: str
    cert: Path
    key: Path
    serial: int
    not_after: str


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def parse_subject(text: str) -> x509.Name:
    """``CN=a.vpn.example,O=Lab`` (or ``/``-separated) -> an X.509 name."""
    oids = {
        "CN": NameOID.COMMON_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
        "L": NameOID.LOCALITY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
    }
    attrs = []
    for part in [p for p in re.split(r"[,/]", text) if p.strip()]:
        key, sep, value = part.strip().partition("=")
        if not sep or key.strip().upper() not in oids or not value.strip():
            raise errors.UsageError(
                f"subject {text!r}: use CN=...,O=... (known: {', '.join(oids)})"
            )
        attrs.append(x509.NameAttribute(oids[key.strip().upper()], value.strip()))
    return x509.Name(attrs)


def _write(folder: Path, name: str, text: str) -> Path:
    try:
        private_dir(folder)
        write_private(folder / name, text)
    except OSError as exc:
        raise errors.InputFileError(f"{folder}: cannot write {name} ({exc.strerror})") from None
    return folder / name


def ca_init(
    folder: Path,
    *,
    subject: str = "CN=ipsecctl lab CA,O=ipsecctl lab",
    days: int = 3650,
    force: bool = False,
) -> Path:
    """A self-signed CA in ``folder`` (``ca.key`` 0600, ``ca.pem``); refuses to overwrite."""
    if (folder / CA_KEY).exists() and not force:
        raise errors.UsageError(
            f"{folder}: a CA is already there (pass --force to replace "
            "it; certificates it issued stop verifying)"
        )
    key = _key()
    name = parse_subject(subject)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(folder, CA_KEY, _pem_key(key))
    _write(folder, CA_CERT, _pem_cert(cert))
    (folder / CA_CERT).chmod(0o644)
    return folder / CA_CERT


def _load_ca(folder: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    try:
        key_bytes = (folder / CA_KEY).read_bytes()
        cert_bytes = (folder / CA_CERT).read_bytes()
    except OSError as exc:
        raise errors.InputFileError(
            f"{folder}: no CA there ({exc.strerror}); run ipsecctl pki ca init first"
        ) from None
    if (folder / CA_KEY).stat().st_mode & 0o077:
        raise errors.InputFileError(f"{folder / CA_KEY}: readable by others; chmod 600 it")
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
        cert = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError:
        raise errors.InputFileError(
            f"{folder}: ca.key / ca.pem are not a PEM key and certificate"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise errors.InputFileError(f"{folder / CA_KEY}: not an RSA key")
    return key, cert


def issue(
    folder: Path,
    name: str,
    *,
    subject: str | None = None,
    ips: tuple[str, ...] = (),
    dns: tuple[str, ...] = (),
    days: int = 825,
    out: Path | None = None,
    trustpoint: str = "IPSECCTL-CA",
) -> Issued:
    """A key and certificate for ``name`` signed by the CA in ``folder``.

    Written to ``folder/issued/`` and, with ``out``, also in swanctl's layout under ``out``:
    ``x509/NAME.pem``, ``private/NAME.key`` and ``x509ca/TRUSTPOINT.pem``.
    """
    if not _NAME.match(name):
        raise errors.UsageError(f"{name!r}: certificate names are letters, digits, '_', '.', '-'")
    ca_key, ca_cert = _load_ca(folder)
    subj = parse_subject(subject or f"CN={name}")
    try:
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    except ValueError as exc:
        raise errors.UsageError(f"--ip: {exc}") from None
    sans += [x509.DNSName(d) for d in dns]
    cn = subj.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cn and not dns and "." in str(cn[0].value):
        sans.append(x509.DNSName(str(cn[0].value)))
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subj)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    issued = folder / "issued"
    key_path = _write(issued, f"{name}.key", _pem_key(key))
    cert_path = _write(issued, f"{name}.pem", _pem_cert(cert))
    if out is not None:
        key_path = _write(out / "private", f"{name}.key", _pem_key(key))
        cert_path = _write(out / "x509", f"{name}.pem", _pem_cert(cert))
        _write(out / "x509ca", f"{trustpoint}.pem", _pem_cert(ca_cert))
    return Issued(
        name,
        subj.rfc4514_string(),
        cert_path,
        key_path,
        cert.serial_number,
        cert.not_valid_after_utc.isoformat(),
    )
