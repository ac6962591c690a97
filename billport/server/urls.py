"""Absolute URLs the server hands out (Location, navigation links, blob directories)."""

from __future__ import annotations

from fastapi import Request

from billport.settings import Settings

BLOB_PREFIX = "blobs"


def base_url(request: Request, settings: Settings) -> str:
    """``settings.public_url`` when set (behind a load balancer), else the request's own base."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def blob_directory_url(request: Request, settings: Settings, root_path: str) -> str:
    return f"{base_url(request, settings)}/{BLOB_PREFIX}/{root_path}"
