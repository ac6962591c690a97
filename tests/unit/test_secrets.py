"""Secrets never show in ``repr()``: settings, keys, clients, export tasks and blob stores."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from billport.auth.keys import KeyRing
from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.scopes import Scope
from billport.exports.blob_tasks import BlobTask
from billport.exports.ranges import BlobRange
from billport.settings import load_settings
from billport.store.clients import Client

SECRETS = ("adm1n-t0ken", "acc0unt-key", "cl1ent-secret", "sas-k3y")


def test_settings_hide_the_admin_token_and_storage_keys(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(
        environ={
            "BILLPORT_ADMIN_TOKEN": "adm1n-t0ken",
            "BILLPORT_AZURE_ACCOUNT_KEY": "acc0unt-key",
            "BILLPORT_AZURE_CONNECTION_STRING": "",
        }
    )
    assert settings.admin_token == "adm1n-t0ken" and settings.azure_account_key == "acc0unt-key"
    logging.getLogger("test").warning("settings: %s / %r", settings, settings)
    for text in (repr(settings), str(settings), caplog.text):
        assert "adm1n-t0ken" not in text and "acc0unt-key" not in text
    assert "admin_token" not in repr(settings)


def test_keys_clients_and_tasks_hide_their_secrets() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = KeyRing(key, sas_key=b"sas-k3y", admin_token="adm1n-t0ken")
    client = Client("id", "tenant", "name", "cl1ent-secret", ())
    scope = Scope("t", Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, 202610, "G1")
    task = BlobTask(
        load_settings(environ={"BILLPORT_ADMIN_TOKEN": "adm1n-t0ken"}),
        b"sas-k3y",
        BlobRange(scope, (1, 2), "root", "op", 10),
        "part-00000.json.gz",
    )
    shown = " ".join(repr(x) for x in (keys, client, task))
    assert keys.kid in shown and "part-00000.json.gz" in shown
    for secret in SECRETS:
        assert secret not in shown


def test_blob_stores_and_azure_errors_hide_their_keys(tmp_path: Path) -> None:
    from azure.storage.blob import ContainerClient

    from billport.blobs.azure import AzureBlobStore, _service
    from billport.blobs.local import LocalBlobStore
    from billport.blobs.memory import MemoryBlobStore
    from billport.errors import ConfigurationError

    account_key = base64.b64encode(b"acc0unt-key").decode()
    connection = f"AccountName=a;AccountKey={account_key};BlobEndpoint=http://127.0.0.1:1/a"
    container = ContainerClient.from_connection_string(connection, "c")
    stores = (
        AzureBlobStore(container, account_name="a", account_key=account_key, sas_key=b"sas-k3y"),
        LocalBlobStore(tmp_path, b"sas-k3y"),
        MemoryBlobStore(b"sas-k3y"),
    )
    shown = " ".join(f"{s!r} {s!s}" for s in (*stores, container))
    assert account_key not in shown and "sas-k3y" not in shown
    broken = load_settings(
        environ={"BILLPORT_BLOB_BACKEND": "azure", "BILLPORT_AZURE_CONNECTION_STRING": "x;"
                 f"AccountKey={account_key}"}
    )  # fmt: skip
    with pytest.raises(ConfigurationError) as refused:
        _service(broken)
    assert account_key not in str(refused.value)
