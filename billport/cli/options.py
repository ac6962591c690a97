"""Options shared by commands, and the one place they become Settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from billport.settings import Settings, env_name, load_settings, shown_default

F = TypeVar("F", bound=Callable[..., Any])


def setting_help(name: str, text: str) -> str:
    """The help of an option that sets ``Settings.<name>``: its variable and default come
    from the setting's declaration."""
    default = shown_default(name)
    tail = f"; default {default}" if default else ""
    return f"{text} [env: {env_name(name)}{tail}]"


def store_options(func: F) -> F:
    """``--data-dir`` and ``--database-url``, also read from their ``BILLPORT_*`` variables."""
    func = click.option(
        "--database-url",
        default=None,
        help=setting_help(
            "database_url", "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db."
        ),
    )(func)
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help=setting_help(
            "data_dir", "Directory for the SQLite database, local blobs and signing keys."
        ),
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
        help=setting_help(
            "azure_container", "Azure container for exported blobs, created if missing."
        ),
    )(func)
    func = click.option(
        "--azure-account-url",
        default=None,
        help=setting_help(
            "azure_account_url",
            "e.g. https://<account>.blob.core.windows.net; the key comes from "
            f"{env_name('azure_account_key')}.",
        ),
    )(func)
    func = click.option(
        "--blob-backend",
        type=click.Choice(["local", "azure"]),
        default=None,
        help=setting_help(
            "blob_backend",
            "local: files under the data dir; azure: Azure Blob Storage, clients download "
            "straight from it.",
        ),
    )(func)
    return func


def build_settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)
