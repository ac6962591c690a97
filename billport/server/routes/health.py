"""Liveness (`/healthz`) and readiness (`/readyz`).

The probes never wait for a thread of the API's pool (which load can fill): they run on a
few threads of their own, and the admission limit (billport.server.admission) never
refuses them.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from billport.runtime import Runtime
from billport.server.deps import get_runtime
from billport.usecases.health import check_health, check_readiness, recent_health

router = APIRouter(tags=["health"])

PROBE_THREADS = 4


def _probe_threads(request: Request) -> anyio.CapacityLimiter:
    """The app's probe threads (a limiter belongs to the event loop that made it)."""
    limiter = getattr(request.app.state, "probe_threads", None)
    if limiter is None:
        limiter = request.app.state.probe_threads = anyio.CapacityLimiter(PROBE_THREADS)
    return limiter


@router.get("/healthz", summary="Health: the server answers and its database is reachable")
async def health(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> dict[str, str]:
    found = recent_health(runtime.db)  # polled often: a ping of half a second ago stands
    if found is None:
        threads = _probe_threads(request)
        found = await anyio.to_thread.run_sync(check_health, runtime.db, limiter=threads)
    return {"status": found.status, "version": found.version, "database": found.database}


@router.get(
    "/readyz",
    summary="Readiness: the database takes writes and the local disk has room",
    responses={503: {"description": "Not ready: `checks` says what is wrong"}},
)
async def readiness(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> JSONResponse:
    threads = _probe_threads(request)
    found = await anyio.to_thread.run_sync(check_readiness, runtime, limiter=threads)
    body: dict[str, Any] = {
        "status": "ready" if found.ready else "not ready",
        "version": found.version,
        "checks": found.checks,
    }
    if found.ready:
        return JSONResponse(body)
    retry = str(max(runtime.settings.retry_after, 1))
    return JSONResponse(body, status_code=503, headers={"Retry-After": retry})
