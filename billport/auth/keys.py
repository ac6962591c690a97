"""Key material in ``settings.keys_dir``: the dev issuer's RSA key, the SAS secret, the admin token.

The files are shared by every process on one data dir (``serve``, ``worker``, ``billport
token``), so the first process to start creates them and everyone else loads them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from billport.errors import ConfigurationError
from billport.private_files import FILE_MODE, private_dir, tighten_tree
from billport.settings import Settings

if TYPE_CHECKING:
    from billport.auth.remote import RemoteJwks

SIGNING_KEY_FILE = "signing-key.pem"
SAS_KEY_FILE = "sas-key.hex"
ADMIN_TOKEN_FILE = "admin-token"
RSA_KEY_BITS = 2048
SAS_KEY_BYTES = 32


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def rsa_jwk_members(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The required members of an RSA public JWK (RFC 7518 §6.3.1)."""
    numbers = public_key.public_numbers()
    return {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)}


def jwk_thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 thumbprint (SHA-256) of a JWK given its required members."""
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _write_once(path: Path, data: bytes) -> bytes:
    """Create ``path`` (mode 0600) holding ``data`` unless it exists; return what ended up there.

    The content is written to a private temp file first and hard-linked into place, so a
    concurrent reader never sees a half-written file and the first writer wins a race.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; its file is complete
        except OSError:
            # Filesystems without hard links: a racing rename could overwrite, but both
            # contenders then re-read the same final file below.
            if not path.exists():
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def _load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = _write_once(path, make())
    if not data.strip():
        raise ConfigurationError(f"{path} is empty; delete it to generate a new one")
    return data


def _new_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(
            _load_or_create(path, _new_private_key), password=None
        )
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} must hold an RSA private key")
    return key


def _load_sas_key(path: Path) -> bytes:
    text = _load_or_create(path, lambda: (secrets.token_hex(SAS_KEY_BYTES) + "\n").encode())
    try:
        key = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigurationError(f"{path} must hold {SAS_KEY_BYTES} hex-encoded bytes") from exc
    if len(key) != SAS_KEY_BYTES:
        raise ConfigurationError(f"{path} must hold {SAS_KEY_BYTES} hex-encoded bytes")
    return key


MIN_ADMIN_TOKEN_CHARS = 32  # the generated one: 43 characters of 32 random bytes


def check_admin_token(value: str) -> None:
    """A configured admin token (``BILLPORT_ADMIN_TOKEN``) rules every tenant's sandbox:
    one shorter than 32 characters is refused (empty: one is generated)."""
    if value and len(value) < MIN_ADMIN_TOKEN_CHARS:
        raise ConfigurationError(
            f"BILLPORT_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters (it "
            f"has {len(value)}): leave it unset to use the generated one, or make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def _load_admin_token(path: Path) -> str:
    text = _load_or_create(path, lambda: (secrets.token_urlsafe(32) + "\n").encode())
    return text.decode("ascii").strip()


class KeyRing:
    """Every key the server signs or verifies with.

    - ``private_key`` / ``kid``: the development issuer's RS256 key (kid = RFC 7638 thumbprint)
    - ``sas_key``: 32-byte HMAC secret for signed blob-download URLs
    - ``admin_token``: bearer secret of the admin API (``settings.admin_token`` wins if set)
    - ``trusted``: JWKS of the external issuer when ``trusted_jwks_url`` is set, else None
    """

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        *,
        sas_key: bytes,
        admin_token: str,
        trusted: RemoteJwks | None = None,
    ) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.sas_key = sas_key
        self.admin_token = admin_token
        self.trusted = trusted
        self._jwk = rsa_jwk_members(self.public_key)
        self.kid = jwk_thumbprint(self._jwk)

    def __repr__(self) -> str:  # never the private key, the SAS key or the admin token
        return f"KeyRing(kid={self.kid!r}, trusted={self.trusted is not None})"

    @classmethod
    def load_or_create(cls, settings: Settings) -> KeyRing:
        """Load the keys from ``settings.keys_dir``, creating missing files (mode 0600) in an
        owner-only directory (0700) of an owner-only data dir; looser ones are tightened."""
        from billport.auth.remote import remote_jwks_from_settings

        private_dir(settings.data_dir)
        directory = private_dir(settings.keys_dir)
        tighten_tree(directory)  # key files left readable by others: warn, make them 0600
        admin_token = settings.admin_token or _load_admin_token(directory / ADMIN_TOKEN_FILE)
        return cls(
            _load_private_key(directory / SIGNING_KEY_FILE),
            sas_key=_load_sas_key(directory / SAS_KEY_FILE),
            admin_token=admin_token,
            trusted=remote_jwks_from_settings(settings),
        )

    @classmethod
    def ephemeral(cls) -> KeyRing:
        """A throw-away key ring kept in memory (tests, tools)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        return cls(
            key, sas_key=secrets.token_bytes(SAS_KEY_BYTES), admin_token=secrets.token_urlsafe(32)
        )

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK Set, shaped like Entra ID's ``discovery/v2.0/keys``."""
        return {
            "keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, **self._jwk}]
        }

    def public_key_for(self, kid: str | None) -> rsa.RSAPublicKey | None:
        """The dev issuer's key named ``kid``; a token without kid gets the current key."""
        return self.public_key if kid in (None, self.kid) else None
