"""``serve --tls`` certificates: created once owner-only, reused, renewed when stale; the CA
is never replaced behind the user's back. Handshakes run in memory (no sockets)."""

from __future__ import annotations

import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from billport.cli import main
from billport.cli.tls import (
    CA_FILE,
    CA_KEY_FILE,
    CERT_FILE,
    KEY_FILE,
    TlsFiles,
    ensure_local_tls,
    own_certificate,
    server_names,
    serving_tls,
    trust_hint,
    uvicorn_options,
)
from billport.errors import ConfigurationError
from billport.settings import load_settings

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NAMES = server_names([])
ALL_FILES = {CA_FILE, CA_KEY_FILE, CERT_FILE, KEY_FILE}


def handshake(files: TlsFiles, hostname: str) -> None:
    """A full TLS handshake between an in-memory server and a client trusting only the CA."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.cert, files.key)
    client = ssl.create_default_context(cafile=str(files.ca))
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default: AKI, critical bits
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    sides = [
        (client.wrap_bio(c_in, c_out, server_hostname=hostname), c_out, s_in),
        (server.wrap_bio(s_in, s_out, server_side=True), s_out, c_in),
    ]
    done = [False, False]
    for _ in range(20):
        for index, (conn, out, peer) in enumerate(sides):
            try:
                conn.do_handshake()
                done[index] = True
            except ssl.SSLWantReadError:
                pass
            peer.write(out.read())
        if all(done):
            return
    raise AssertionError("the handshake did not finish")


def sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in names}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_run_creates_an_owner_only_ca_and_server_certificate(tmp_path: Path) -> None:
    files = ensure_local_tls(tmp_path / "tls", NAMES, now=NOW)
    assert set(files.created) == ALL_FILES
    assert mode(tmp_path / "tls") == 0o700
    assert {p.name: mode(p) for p in (tmp_path / "tls").iterdir()} == dict.fromkeys(
        ALL_FILES, 0o600
    )
    assert sans(files.cert) == {"localhost", "127.0.0.1", "::1"}
    for host in ("localhost", "127.0.0.1", "::1"):
        handshake(files, host)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(files, "billing.example.com")  # not a name the certificate covers


def test_later_runs_reuse_every_file(tmp_path: Path) -> None:
    first = ensure_local_tls(tmp_path, NAMES, now=NOW)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = ensure_local_tls(tmp_path, NAMES, now=NOW + timedelta(days=30))
    assert again.created == ()
    assert (again.cert, again.key, again.ca) == (first.cert, first.key, first.ca)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_expiring_server_certificate_is_renewed_by_the_same_ca(tmp_path: Path) -> None:
    first = ensure_local_tls(tmp_path, NAMES, now=NOW)
    ca, cert = first.ca.read_bytes(), first.cert.read_bytes()  # type: ignore[union-attr]
    later = NOW + timedelta(days=392)  # within a week of the 397-day end
    renewed = ensure_local_tls(tmp_path, NAMES, now=later)
    assert set(renewed.created) == {CERT_FILE, KEY_FILE}
    assert renewed.ca.read_bytes() == ca and renewed.cert.read_bytes() != cert  # type: ignore[union-attr]
    issued = x509.load_pem_x509_certificate(renewed.cert.read_bytes())
    assert issued.not_valid_after_utc > later + timedelta(days=300)
    issued.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))


def test_new_names_issue_a_new_server_certificate(tmp_path: Path) -> None:
    first = ensure_local_tls(tmp_path, NAMES, now=NOW)
    ca = first.ca.read_bytes()  # type: ignore[union-attr]
    names = server_names(["10.1.2.3", "billing.example.com"])
    second = ensure_local_tls(tmp_path, names, now=NOW)
    assert set(second.created) == {CERT_FILE, KEY_FILE} and second.ca.read_bytes() == ca  # type: ignore[union-attr]
    assert sans(second.cert) == {"localhost", "127.0.0.1", "::1", "10.1.2.3", "billing.example.com"}
    handshake(second, "billing.example.com")
    assert set(ensure_local_tls(tmp_path, NAMES, now=NOW).created) == {CERT_FILE, KEY_FILE}


def test_a_damaged_or_foreign_server_certificate_is_replaced(tmp_path: Path) -> None:
    files = ensure_local_tls(tmp_path / "a", NAMES, now=NOW)
    other = ensure_local_tls(tmp_path / "b", NAMES, now=NOW)  # another CA's certificate
    files.cert.write_bytes(other.cert.read_bytes())
    files.key.write_bytes(other.key.read_bytes())
    assert set(ensure_local_tls(tmp_path / "a", NAMES, now=NOW).created) == {CERT_FILE, KEY_FILE}
    handshake(files, "localhost")
    files.key.write_bytes(b"not a key")
    assert set(ensure_local_tls(tmp_path / "a", NAMES, now=NOW).created) == {CERT_FILE, KEY_FILE}


def test_files_opened_to_others_are_tightened(tmp_path: Path) -> None:
    files = ensure_local_tls(tmp_path, NAMES, now=NOW)
    files.cert.chmod(0o644)
    files.ca.chmod(0o644)  # type: ignore[union-attr]
    assert ensure_local_tls(tmp_path, NAMES, now=NOW).created == ()
    assert mode(files.cert) == mode(files.ca) == 0o600  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: (d / CA_KEY_FILE).unlink(), "unusable"),
        (lambda d: (d / CA_FILE).write_bytes(b"junk"), "unusable"),
        (lambda d: (d / CA_KEY_FILE).write_bytes((d / KEY_FILE).read_bytes()), "not the key"),
    ],
    ids=["key missing", "cert damaged", "key of another cert"],
)
def test_an_unusable_ca_is_an_error_never_silently_replaced(
    tmp_path: Path, breakage: object, message: str
) -> None:
    ensure_local_tls(tmp_path, NAMES, now=NOW)
    breakage(tmp_path)  # type: ignore[operator]
    left = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ConfigurationError, match=message) as raised:
        ensure_local_tls(tmp_path, NAMES, now=NOW)
    assert f"delete {tmp_path}" in str(raised.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == left


def test_an_expiring_ca_is_an_error(tmp_path: Path) -> None:
    ensure_local_tls(tmp_path, NAMES, now=NOW)
    with pytest.raises(ConfigurationError, match="expires"):
        ensure_local_tls(tmp_path, NAMES, now=NOW + timedelta(days=3645))


def test_server_names_add_the_bind_host_and_public_host_only() -> None:
    assert server_names(["0.0.0.0", "::", None, "[::1]", "LOCALHOST"]) == list(NAMES)
    assert server_names(["192.0.2.7", "[2001:db8::1]", "Billing.Example.com"])[3:] == [
        "192.0.2.7",
        "2001:db8::1",
        "billing.example.com",
    ]


def test_serving_tls_prints_the_ca_and_takes_the_public_host(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", public_url="https://billing.example.com:8443", environ={}
    )
    lines: list[str] = []
    files = serving_tls(settings, local=True, cert=None, key=None, echo=lines.append)
    assert files is not None and files.ca == (tmp_path / "data" / "tls" / CA_FILE)
    assert "billing.example.com" in sans(files.cert)
    assert lines == trust_hint(files) and f"REQUESTS_CA_BUNDLE={files.ca}" in lines[-1]
    assert uvicorn_options(files) == {
        "ssl_certfile": str(files.cert),
        "ssl_keyfile": str(files.key),
    }
    plain = serving_tls(settings, local=False, cert=None, key=None, echo=lines.append)
    assert plain is None and uvicorn_options(plain) == {}


def test_serving_tls_refuses_an_http_public_url(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, public_url="http://127.0.0.1:8000", environ={})
    with pytest.raises(ConfigurationError, match="https://"):
        serving_tls(settings, local=True, cert=None, key=None, echo=print)
    assert not (tmp_path / "tls").exists()


def test_own_certificate_must_match_its_key(tmp_path: Path) -> None:
    a = ensure_local_tls(tmp_path / "a", NAMES, now=NOW)
    b = ensure_local_tls(tmp_path / "b", NAMES, now=NOW)
    assert own_certificate(a.cert, a.key) == TlsFiles(a.cert, a.key)
    with pytest.raises(ConfigurationError, match="not the key"):
        own_certificate(a.cert, b.key)
    with pytest.raises(ConfigurationError, match="cannot use"):
        own_certificate(a.ca, a.cert)  # type: ignore[arg-type]


def test_serve_needs_both_tls_cert_and_key(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    result = CliRunner().invoke(main, ["serve", "--tls-cert", str(cert), "--port", "1"])
    assert result.exit_code == 2 and "--tls-cert and --tls-key go together" in result.output
