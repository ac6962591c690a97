"""Azure SDK errors are translated where they enter billport (``blobs.azure``)."""

from __future__ import annotations

import pytest
from azure.storage.blob import ContainerClient

from billport.blobs.azure import AzureBlobStore
from billport.errors import StorageUnavailable


def test_an_unreachable_azure_account_is_storage_unavailable() -> None:
    """The SDK's connection error is translated where it enters: StorageUnavailable (503)."""
    container = ContainerClient(
        "http://127.0.0.1:1/devstoreaccount1",
        "billport",
        credential={"account_name": "devstoreaccount1", "account_key": "a2V5"},
        retry_total=0,
        connection_timeout=2,
    )
    store = AzureBlobStore(container, account_name="devstoreaccount1", account_key="a2V5")
    with pytest.raises(StorageUnavailable) as raised:
        store.info("billedreconfastpath/part-00000.json.gz")
    assert raised.value.__cause__ is not None  # the SDK's error, kept for the log
    with pytest.raises(StorageUnavailable):
        list(store.read("billedreconfastpath/part-00000.json.gz"))
