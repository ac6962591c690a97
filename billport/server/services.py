"""The FastAPI dependency that hands route handlers the app's :class:`Services`."""

from __future__ import annotations

from fastapi import Request

from billport.runtime import Services


def get_services(request: Request) -> Services:
    """FastAPI dependency: the services opened in the app lifespan."""
    return request.app.state.services  # type: ignore[no-any-return]
