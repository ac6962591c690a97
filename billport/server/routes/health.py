"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends

from billport import __version__
from billport.runtime import Services
from billport.server.services import get_services

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health: the server answers and its database is reachable")
def health(services: Annotated[Services, Depends(get_services)]) -> dict[str, str]:
    with services.db.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": services.db.dialect}
