"""The FastAPI dependency that hands route handlers the app's :class:`Runtime`."""

from __future__ import annotations

from fastapi import Request

from billport.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the runtime opened in the app lifespan."""
    return request.app.state.runtime  # type: ignore[no-any-return]
