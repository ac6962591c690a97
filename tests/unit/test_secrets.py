"""Secrets never show in ``repr()``: settings, keys, clients and export tasks."""

from __future__ import annotations

import logging

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
