"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends

from billport import __version__
from billport.runtime import Runtime
from billport.server.deps import get_runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health: the server answers and its database is reachable")
def health(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, str]:
    with runtime.db.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": runtime.db.dialect}
