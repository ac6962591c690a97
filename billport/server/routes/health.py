"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from billport.runtime import Runtime
from billport.server.deps import get_runtime
from billport.usecases.health import check_health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health: the server answers and its database is reachable")
def health(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, str]:
    found = check_health(runtime.db)
    return {"status": found.status, "version": found.version, "database": found.database}
