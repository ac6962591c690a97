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
    assert query["sdd"] == "4" == str(len(DIR.split("/")) - 1)  # levels under the container


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


LIVE = (
    "billedusagefastpath/v1/PartnerTenantId=0e195b37-4574-4539-bc42-0e539b9684c0/"
    "BillingMonth=202310/InvoiceId=G031809528/InvoiceVersion=202311/Fragment=basic/"
    "PartitionType=default"
)


def test_sdd_counts_the_levels_under_the_container_as_azure_does() -> None:
    """The live manifest's directory (spec §4.2) has 7 levels under its container and its
    token says ``sdd=7``; azure-storage-blob's own directory SAS counts the same."""
    from azure.storage.blob import generate_blob_sas

    container, directory = LIVE.split("/", 1)
    mine = dict(parse_qsl(sas.mint(KEY, LIVE, now=NOW, lifetime=60)))
    sdk = dict(
        parse_qsl(
            generate_blob_sas(
                "account",
                container,
                directory,
                account_key="a2V5",
                permission="rl",
                expiry=NOW + timedelta(hours=1),
                is_directory=True,
            )  # fmt: skip
        )
    )
    assert mine["sdd"] == sdk["sdd"] == "7" and sdk["sr"] == "d"
    assert sas.directory_depth("c/a/b/c") == 3
    sas.verify(KEY, f"{LIVE}/part-00049-x.c000.json.gz", mine, now=NOW)
    assert sas.verify_listing(KEY, container, f"{directory}/", mine, now=NOW) == LIVE


def test_a_token_with_the_container_counted_in_sdd_is_refused() -> None:
    """What billport minted before: ``sdd`` one too high no longer reads anything."""
    query = token()
    query["sdd"] = str(len(DIR.split("/")))
    with pytest.raises(sas.SasDenied):
        sas.verify(KEY, f"{DIR}/a.gz", query, now=NOW)
