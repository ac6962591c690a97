"""Azure Blob Storage settings: every misconfiguration stops start-up with a clear message."""

from __future__ import annotations

import pytest

from billport.blobs.factory import open_blob_store
from billport.errors import ConfigurationError
from billport.settings import load_settings

CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;"
    "EndpointSuffix=core.windows.net"
)


def test_the_local_backend_needs_no_azure_settings() -> None:
    assert load_settings(environ={}).blob_backend == "local"


def test_a_connection_string_selects_azure_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "BILLPORT_BLOB_BACKEND": "azure",
            "BILLPORT_AZURE_CONNECTION_STRING": CONN,
            "BILLPORT_AZURE_CONTAINER": "exports-1",
        }
    )
    assert settings.blob_backend == "azure"
    assert settings.azure_connection_string == CONN
    assert settings.azure_container == "exports-1"


def test_an_account_url_and_key_select_azure() -> None:
    settings = load_settings(
        environ={
            "BILLPORT_BLOB_BACKEND": "azure",
            "BILLPORT_AZURE_ACCOUNT_URL": "https://acct.blob.core.windows.net",
            "BILLPORT_AZURE_ACCOUNT_KEY": "a2V5",
        }
    )
    assert settings.azure_account_url == "https://acct.blob.core.windows.net"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "needs BILLPORT_AZURE_CONNECTION_STRING"),
        ({"azure_account_url": "https://acct.blob.core.windows.net"}, "ACCOUNT_KEY"),
        ({"azure_account_key": "a2V5"}, "ACCOUNT_URL"),
        ({"azure_connection_string": CONN, "azure_account_key": "a2V5"}, "not both"),
        ({"azure_account_url": "acct", "azure_account_key": "a2V5"}, "http(s) URL"),
        ({"azure_connection_string": CONN, "azure_container": "Exports"}, "container name"),
        ({"azure_connection_string": CONN, "azure_container": "ab"}, "container name"),
        ({"azure_connection_string": CONN, "azure_container": "a--b"}, "container name"),
        ({"azure_connection_string": CONN, "azure_container": "-ab"}, "container name"),
    ],
)
def test_misconfiguration_is_a_configuration_error(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ={}, blob_backend="azure", **overrides)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="local or azure"):
        load_settings(environ={"BILLPORT_BLOB_BACKEND": "s3"})


@pytest.mark.parametrize(
    ("connection_string", "message"),
    [
        ("nonsense", "malformed"),
        (
            "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2020&sig=x",
            "AccountKey",
        ),
    ],
)
def test_connection_strings_that_cannot_sign_are_refused_before_any_request(
    connection_string: str, message: str
) -> None:
    settings = load_settings(
        environ={}, blob_backend="azure", azure_connection_string=connection_string
    )
    with pytest.raises(ConfigurationError, match=message):
        open_blob_store(settings, b"k" * 32)
