"""KeyRing: persistence, permissions, sharing between processes, RFC 7638 kid."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import jwt
import pytest

from billport.auth.keys import (
    ADMIN_TOKEN_FILE,
    SAS_KEY_FILE,
    SIGNING_KEY_FILE,
    KeyRing,
    jwk_thumbprint,
)
from billport.errors import ConfigurationError
from billport.settings import Settings, load_settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(environ={}, data_dir=tmp_path / "data", **overrides)


def test_rfc7638_example_thumbprint() -> None:
    members = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
        "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
        "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF"
        "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    assert jwk_thumbprint(members) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_created_once_then_loaded(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = KeyRing.load_or_create(settings)
    second = KeyRing.load_or_create(settings)
    assert first.kid == second.kid
    assert first.sas_key == second.sas_key and len(first.sas_key) == 32
    assert first.admin_token == second.admin_token and len(first.admin_token) >= 32
    assert first.private_key.key_size == 2048


def test_files_are_private(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    KeyRing.load_or_create(settings)
    for name in (SIGNING_KEY_FILE, SAS_KEY_FILE, ADMIN_TOKEN_FILE):
        assert stat.S_IMODE((settings.keys_dir / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in settings.keys_dir.iterdir()) == sorted(
        [SIGNING_KEY_FILE, SAS_KEY_FILE, ADMIN_TOKEN_FILE]
    )  # no temp files left behind


def test_admin_token_setting_wins(tmp_path: Path) -> None:
    settings = _settings(tmp_path, admin_token="from-settings")
    assert KeyRing.load_or_create(settings).admin_token == "from-settings"
    assert not (settings.keys_dir / ADMIN_TOKEN_FILE).exists()


def test_jwks_verifies_tokens(tmp_path: Path) -> None:
    keys = KeyRing.load_or_create(_settings(tmp_path))
    (jwk,) = keys.jwks()["keys"]
    assert jwk["kid"] == keys.kid
    assert jwk_thumbprint({k: jwk[k] for k in ("e", "kty", "n")}) == keys.kid
    signed = jwt.encode({"a": 1}, keys.private_key, algorithm="RS256")
    assert jwt.decode(signed, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"a": 1}


def test_public_key_for(tmp_path: Path) -> None:
    keys = KeyRing.ephemeral()
    assert keys.public_key_for(keys.kid) is keys.public_key
    assert keys.public_key_for(None) is keys.public_key
    assert keys.public_key_for("other") is None


@pytest.mark.parametrize(
    ("name", "content"),
    [(SIGNING_KEY_FILE, b"not a key"), (SAS_KEY_FILE, b"abcd\n"), (SAS_KEY_FILE, b"   ")],
)
def test_corrupt_files_are_configuration_errors(tmp_path: Path, name: str, content: bytes) -> None:
    settings = _settings(tmp_path)
    settings.keys_dir.mkdir(parents=True)
    (settings.keys_dir / name).write_bytes(content)
    with pytest.raises(ConfigurationError, match=name):
        KeyRing.load_or_create(settings)


def _kid_in_child(data_dir: str, barrier: object, out: object) -> None:
    settings = load_settings(environ={}, data_dir=data_dir)
    barrier.wait()  # type: ignore[attr-defined]
    keys = KeyRing.load_or_create(settings)
    out.put((keys.kid, keys.sas_key.hex(), keys.admin_token))  # type: ignore[attr-defined]


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(4), context.Queue()
    data_dir = str(tmp_path / "data")
    workers = [
        context.Process(target=_kid_in_child, args=(data_dir, barrier, out)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    results = {out.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert len(results) == 1
    out.close()
    out.join_thread()


def test_a_weak_admin_token_stops_a_server_before_it_opens_anything(tmp_path: Path) -> None:
    from billport.errors import ConfigurationError
    from billport.runtime import open_runtime

    weak = _settings(tmp_path, admin_token="1")
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        open_runtime(weak)
    assert not (weak.data_dir / "billport.db").exists()
    strong = _settings(tmp_path / "strong", admin_token="k" * 32)
    runtime = open_runtime(strong)
    try:
        assert runtime.keys.admin_token == "k" * 32
    finally:
        runtime.db.dispose()
