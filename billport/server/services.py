"""What route handlers and workers share: opened once in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from billport.clock import Clock
from billport.settings import Settings
from billport.store.db import Database

if TYPE_CHECKING:
    from billport.auth.keys import KeyRing
    from billport.blobs.base import BlobStore


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyRing
    blobs: BlobStore


def get_services(request: Request) -> Services:
    """FastAPI dependency: the app's services."""
    return request.app.state.services  # type: ignore[no-any-return]
