"""Signed directory tokens for blob downloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from billport.blobs import sas

KEY = b"k" * 32
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DIR = "billedreconfastpath/v1/PartnerTenantId=t/BillingMonth=202610/Fragment=full"


def token(**kw: object) -> dict[str, str]:
    return dict(parse_qsl(sas.mint(KEY, DIR, now=NOW, lifetime=3600, **kw)))  # type: ignore[arg-type]


def test_shape_is_azure_like() -> None:
    query = token()
    assert query["sr"] == "d" and query["sp"] == "rl" and query["sv"] == sas.SAS_VERSION
    assert query["se"] == "2026-11-21T13:00:00Z"
    assert query["sdd"] == str(len(DIR.split("/")))


def test_valid_token_reads_a_blob_in_its_directory() -> None:
    sas.verify(KEY, f"{DIR}/part-00000-x.c000.json.gz", token(), now=NOW)


def test_expired() -> None:
    with pytest.raises(sas.SasDenied, match="expired"):
        sas.verify(KEY, f"{DIR}/a.gz", token(), now=NOW + timedelta(hours=1, seconds=1))


@pytest.mark.parametrize("field", ["se", "sp", "sig", "sdd", "st"])
def test_tampering_is_refused(field: str) -> None:
    query = token()
    query[field] = {
        "se": "2099-01-01T00:00:00Z",
        "sp": "rwl",
        "sig": "AAAA" + query["sig"][4:],
        "sdd": "2",
        "st": "2020-01-01T00:00:00Z",
    }[field]
    with pytest.raises(sas.SasDenied):
        sas.verify(KEY, f"{DIR}/a.gz", query, now=NOW)


def test_other_directory_is_refused() -> None:
    other = DIR.replace("PartnerTenantId=t", "PartnerTenantId=u")
    with pytest.raises(sas.SasDenied):
        sas.verify(KEY, f"{other}/a.gz", token(), now=NOW)


def test_nested_path_is_refused() -> None:
    with pytest.raises(sas.SasDenied):
        sas.verify(KEY, f"{DIR}/sub/a.gz", token(), now=NOW)


def test_other_key_is_refused() -> None:
    with pytest.raises(sas.SasDenied, match="Signature did not match"):
        sas.verify(b"x" * 32, f"{DIR}/a.gz", token(), now=NOW)


def test_missing_signature() -> None:
    query = token()
    del query["sig"]
    with pytest.raises(sas.SasDenied) as info:
        sas.verify(KEY, f"{DIR}/a.gz", query, now=NOW)
    assert info.value.code == "NoAuthenticationInformation"


def test_listing_inside_the_directory_returns_it() -> None:
    container, directory = DIR.split("/", 1)
    for prefix in (f"{directory}/", directory, f"{directory}/part-", f"{directory}/x/y"):
        assert sas.verify_listing(KEY, container, prefix, token(), now=NOW) == DIR


def test_listing_outside_the_directory_or_without_l_is_refused() -> None:
    container, directory = DIR.split("/", 1)
    for prefix in ("", "v1/", directory[:-1], directory.rsplit("/", 1)[0] + "/", directory + "x"):
        with pytest.raises(sas.SasDenied) as info:
            sas.verify_listing(KEY, container, prefix, token(), now=NOW)
        assert info.value.code == "AuthenticationFailed", prefix
    with pytest.raises(sas.SasDenied) as info:
        sas.verify_listing(KEY, container, directory, token(permissions="r"), now=NOW)
    assert info.value.code == "AuthorizationPermissionMismatch"
    sas.verify(KEY, f"{DIR}/a.gz", token(permissions="r"), now=NOW)  # reads still work
    with pytest.raises(sas.SasDenied, match="expired"):
        sas.verify_listing(KEY, container, directory, token(), now=NOW + timedelta(hours=2))
