"""What the server, workers and the seeder share: the opened database, clock, keys and blobs."""

from __future__ import annotations

from dataclasses import dataclass

from billport.auth.keys import KeyRing, check_admin_token
from billport.blobs.base import BlobStore
from billport.blobs.factory import open_blob_store
from billport.clock import Clock, clock_from_settings
from billport.settings import Settings
from billport.store.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyRing
    blobs: BlobStore


def open_runtime(settings: Settings, database: Database | None = None) -> Runtime:
    """Open the database (migrating it), signing keys and blob store.

    A server refuses a weak admin token before it opens anything (``check_admin_token``)."""
    check_admin_token(settings.admin_token)
    db = database or Database.from_settings(settings)
    keys = KeyRing.load_or_create(settings)
    return Runtime(
        settings=settings,
        db=db,
        clock=clock_from_settings(settings),
        keys=keys,
        blobs=open_blob_store(settings, keys.sas_key),
    )
