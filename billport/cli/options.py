"""Options shared by commands, and the one place they become Settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from billport.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def store_options(func: F) -> F:
    """``--data-dir`` and ``--database-url``, also read from their ``BILLPORT_*`` variables."""
    func = click.option(
        "--database-url",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. [env: BILLPORT_DATABASE_URL]",
    )(func)
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Directory for the SQLite database, local blobs and signing keys. "
        "[env: BILLPORT_DATA_DIR; default ./billport-data]",
    )(func)
    return func


def blob_options(func: F) -> F:
    """Where exported blobs go. The commands take them as ``**blob_flags``.

    Secrets (``BILLPORT_AZURE_CONNECTION_STRING``, ``BILLPORT_AZURE_ACCOUNT_KEY``) are read
    from the environment only: a command line is visible to every user of the machine.
    """
    func = click.option(
        "--azure-container",
        default=None,
        help="Azure container for exported blobs, created if missing. "
        "[env: BILLPORT_AZURE_CONTAINER; default billport]",
    )(func)
    func = click.option(
        "--azure-account-url",
        default=None,
        help="e.g. https://<account>.blob.core.windows.net; the key comes from "
        "BILLPORT_AZURE_ACCOUNT_KEY. [env: BILLPORT_AZURE_ACCOUNT_URL]",
    )(func)
    func = click.option(
        "--blob-backend",
        type=click.Choice(["local", "azure"]),
        default=None,
        help="local: files under the data dir; azure: Azure Blob Storage, clients download "
        "straight from it. [env: BILLPORT_BLOB_BACKEND; default local]",
    )(func)
    return func


def build_settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)
