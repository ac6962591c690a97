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


def build_settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)
