"""Absolute URLs the server hands out (Location, navigation links).

Blob download URLs come from the blob store (``BlobStore.download_location``).
"""

from __future__ import annotations

from fastapi import Request

from billport.settings import Settings


def base_url(request: Request, settings: Settings) -> str:
    """``settings.public_url`` when set (behind a load balancer), else the request's own base."""
    return (settings.public_url or str(request.base_url)).rstrip("/")
