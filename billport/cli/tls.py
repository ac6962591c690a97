"""``billport serve --tls``: a local CA and a server certificate it signs, kept in the data dir.

Microsoft's sign-in libraries (msal, azure-identity) and the Graph SDK refuse an ``http``
authority or base URL, so official clients need billport over HTTPS. The first ``--tls``
run creates, under ``<data dir>/tls/`` (``0700``, every file ``0600``):

- ``ca.pem`` and ``ca-key.pem``: a self-signed CA, the one file clients trust;
- ``server.pem`` and ``server-key.pem``: the server certificate, signed by that CA.

Later runs reuse them. The server certificate is issued again when it has expired (or
expires within :data:`RENEW_BEFORE`), when the names it must cover changed (a new
``--host`` or ``BILLPORT_PUBLIC_URL``), or when it is not the CA's. The CA is never
replaced silently: clients trust it by path, and a new one would break them all; a CA
that cannot be used is a ConfigurationError that says which file to delete.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from billport.errors import ConfigurationError
from billport.private_files import open_private, private_dir, tighten_all
from billport.settings import Settings

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)  # the longest lifetime browsers accept for a leaf
RENEW_BEFORE = timedelta(days=7)
LOOPBACK = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # bind-all addresses name no host
CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"
CERT_FILE, KEY_FILE = "server.pem", "server-key.pem"

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class TlsFiles:
    """What uvicorn is given (``cert``, ``key``) and what clients trust (``ca``)."""

    cert: Path
    key: Path
    ca: Path | None = None  # None for a certificate the user brought
    created: tuple[str, ...] = ()  # file names this run wrote


def server_names(hosts: Iterable[str | None]) -> list[str]:
    """The loopback names plus each given host (a bind address or a public URL's host)."""
    names = list(LOOPBACK)
    for host in hosts:
        cleaned = (host or "").strip().strip("[]").lower()
        if cleaned not in _WILDCARDS and cleaned not in names:
            names.append(cleaned)
    return names


def ensure_local_tls(
    directory: Path, names: Iterable[str], *, now: datetime | None = None
) -> TlsFiles:
    """The CA and a current server certificate for ``names`` in ``directory``, made as needed."""
    at = now or datetime.now(UTC)
    wanted = {_general_name(n) for n in names}
    private_dir(directory)
    created: list[str] = []
    ca = _load_ca(directory, at)
    if ca is None:
        ca = _create_ca(directory, at)
        created += [CA_FILE, CA_KEY_FILE]
    if not _server_current(directory, ca[0], wanted, at):
        _create_server(directory, ca, wanted, at)
        created += [CERT_FILE, KEY_FILE]
    return TlsFiles(
        directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE, tuple(created)
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` owner-only, replacing ``path`` in one step (never a half-written file)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(partial) as out:
        out.write(data)
    os.replace(partial, path)


def _pem_key(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _read_key(path: Path) -> Key:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not the EC key billport writes")
    return key


def _same_key(cert: x509.Certificate, key: Key) -> bool:
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*der) == key.public_key().public_bytes(*der)


def _load_ca(directory: Path, now: datetime) -> tuple[x509.Certificate, Key] | None:
    """The existing CA, None if there is none; a CA that cannot be used is an error."""
    cert_path, key_path = directory / CA_FILE, directory / CA_KEY_FILE
    if not cert_path.exists() and not key_path.exists():
        return None
    remedy = f"delete {directory} to create a new CA (clients must then trust the new {CA_FILE})"
    try:
        tighten_all((cert_path, key_path))
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = _read_key(key_path)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"the local TLS CA in {directory} is unusable ({exc}); {remedy}"
        ) from None
    if not _same_key(cert, key):
        raise ConfigurationError(f"{key_path} is not the key of {cert_path}; {remedy}")
    if cert.not_valid_after_utc <= now + RENEW_BEFORE:
        raise ConfigurationError(
            f"the local TLS CA {cert_path} expires {cert.not_valid_after_utc:%Y-%m-%d}; {remedy}"
        )
    return cert, key


def _server_current(
    directory: Path, ca: x509.Certificate, wanted: set[x509.GeneralName], now: datetime
) -> bool:
    """True when the server certificate exists, is the CA's, covers ``wanted`` and is valid."""
    try:
        tighten_all((directory / CERT_FILE, directory / KEY_FILE))
        cert = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        key = _read_key(directory / KEY_FILE)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False  # missing, damaged or another CA's: issue a new one
    return (
        _same_key(cert, key)
        and set(names) == wanted
        and cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc > now + RENEW_BEFORE
    )


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _builder(
    subject: x509.Name, issuer: x509.Name, key: Key, now: datetime, life: timedelta
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # a client clock a little behind
        .not_valid_after(now + life)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _create_ca(directory: Path, now: datetime) -> tuple[x509.Certificate, Key]:
    key = ec.generate_private_key(ec.SECP256R1())  # quick to make, every client takes P-256
    subject = _name(f"billport local CA ({now:%Y-%m-%d %H:%M:%S})")  # unique per data dir
    cert = (
        _builder(subject, subject, key, now, CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(directory / CA_KEY_FILE, _pem_key(key))
    _write(directory / CA_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _create_server(
    directory: Path,
    ca: tuple[x509.Certificate, Key],
    names: set[x509.GeneralName],
    now: datetime,
) -> None:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    ordered = sorted(names, key=lambda n: (isinstance(n, x509.IPAddress), str(n.value)))
    cert = (
        _builder(_name("billport local server"), ca_cert.subject, key, now, SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(ordered), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / KEY_FILE, _pem_key(key))
    _write(directory / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))


def own_certificate(cert: Path, key: Path) -> TlsFiles:
    """``--tls-cert``/``--tls-key``: checked to load and to belong together, used as they are."""
    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot use --tls-cert {cert} / --tls-key {key}: {exc}") from None
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if loaded.public_key().public_bytes(*der) != private.public_key().public_bytes(*der):
        raise ConfigurationError(f"--tls-key {key} is not the key of --tls-cert {cert}")
    return TlsFiles(cert, key)


def serving_tls(
    settings: Settings,
    *,
    local: bool,
    cert: str | None,
    key: str | None,
    echo: Callable[[str], object],
) -> TlsFiles | None:
    """What ``serve`` hands uvicorn for ``--tls``/``--tls-cert``, None for plain HTTP.

    Links billport builds take the request's scheme (``https`` under TLS), or
    ``BILLPORT_PUBLIC_URL``, which therefore must not be ``http`` here.
    """
    if not (local or cert):
        return None
    public = urlsplit(settings.public_url) if settings.public_url else None
    if public is not None and public.scheme != "https":
        raise ConfigurationError(
            f"BILLPORT_PUBLIC_URL is {settings.public_url!r} but `serve --tls` serves HTTPS: "
            "links in responses would point at plain HTTP; give an https:// public URL"
        )
    if cert and key:
        files = own_certificate(Path(cert), Path(key))
        echo(f"billport: serving HTTPS with {files.cert}")
        return files
    names = server_names([settings.host, public.hostname if public else None])
    files = ensure_local_tls((settings.data_dir / "tls").absolute(), names)  # printed
    for line in trust_hint(files):
        echo(line)
    return files


def trust_hint(files: TlsFiles) -> list[str]:
    """The start-up lines naming the CA and how clients trust it."""
    made = f" (created {', '.join(files.created)})" if files.created else ""
    return [
        f"billport: serving HTTPS with {files.cert}{made}, signed by the local CA",
        f"  {files.ca}",
        "Trust that CA in clients (verify=/connection_verify=, or for this shell only, since "
        "these replace the system CAs):",
        f"  export REQUESTS_CA_BUNDLE={files.ca} SSL_CERT_FILE={files.ca}",
    ]


def uvicorn_options(files: TlsFiles | None) -> dict[str, str]:
    """uvicorn's ``ssl_certfile``/``ssl_keyfile`` for ``files``; nothing for plain HTTP."""
    if files is None:
        return {}
    return {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
