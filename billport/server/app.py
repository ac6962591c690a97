"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp

from billport import __version__
from billport.runtime import Runtime, open_runtime
from billport.server.admission import AdmissionMiddleware
from billport.server.console import install_console
from billport.server.docs_ui import install_docs
from billport.server.errors import install_error_handlers
from billport.server.middleware import RequestIdMiddleware
from billport.server.routes import (
    admin,
    blobs,
    documents,
    graph,
    graph_metadata,
    health,
    identity,
    invoice_summaries,
    invoices,
    line_items,
    resellers,
)
from billport.server.sandbox_middleware import ConnectionDropper, SandboxMiddleware
from billport.settings import Settings
from billport.usecases.request_log import RequestRecorder


class BillportApp(FastAPI):
    """FastAPI with one layer outside Starlette's error middleware: the sandbox's connection
    dropper, which must see the server's own ``send`` (see billport.server.sandbox_middleware)."""

    def build_middleware_stack(self) -> ASGIApp:
        return ConnectionDropper(super().build_middleware_stack())


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    run_worker: bool | None = None,
) -> FastAPI:
    """Build the app. Resources open in the lifespan, never at import.

    ``runtime`` lets tests share one set with the code under test; ``run_worker``
    overrides ``settings.worker``.
    """
    with_worker = settings.worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = runtime or open_runtime(settings)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.runtime = opened
        recorder = RequestRecorder(opened.db, keep=opened.settings.request_log_size)
        recorder.start()
        app.state.request_log = recorder
        worker = None
        if with_worker:
            from billport.jobs.worker import Worker

            worker = Worker(opened, name="in-process")
            worker.start_thread()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop_and_join()
            recorder.close()
            del app.state.request_log
            if runtime is None:
                opened.db.dispose()

    app = BillportApp(
        title="billport",
        version=__version__,
        description="Wire-compatible Microsoft Partner Center invoices and Graph partner "
        "billing exports.",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc from packaged assets
        redoc_url=None,
    )
    install_docs(app)
    app.add_middleware(SandboxMiddleware)  # inside RequestIdMiddleware: faults get request ids
    # Outside the sandbox: a refused request does no work and is not logged as a client's.
    app.add_middleware(
        AdmissionMiddleware, limit=settings.max_in_flight, wait_seconds=settings.admission_wait
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    # invoice_summaries before invoices: /v1/invoices/summary is no invoice id.
    routers = (health, identity, invoice_summaries, invoices, line_items, documents, graph)
    # graph_metadata last: its 405 routes answer only what no other route matches.
    for module in (*routers, blobs, admin, resellers):
        app.include_router(module.router)
    install_console(app)  # /_billport/console: the operator's web pages
    app.include_router(graph_metadata.router)
    _describe_validation_as_400(app)
    return app


def _describe_validation_as_400(app: FastAPI) -> None:
    """Malformed input answers 400 in each surface's envelope, never FastAPI's 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {"description": "Malformed request"})
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
