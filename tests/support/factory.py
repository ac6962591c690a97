"""The one way tests open a Runtime and put the app in front of it.

With the ``settings`` fixture of tests/conftest.py::

    @pytest.fixture
    def runtime(settings: Settings) -> Iterator[Runtime]:
        with opened(settings, blob_rows=3) as runtime:
            data.build_dataset(runtime)
            yield runtime

    def test_export(runtime: Runtime) -> None:
        with app_client(runtime) as client:  # in process, no worker: run Worker(runtime) by hand
            ...
        with live_server(runtime, worker=True) as base:  # a socket, the in-process worker on
            ...

API:

- ``opened(settings, database=None, **changes) -> Iterator[Runtime]``: ``open_runtime`` over
  ``settings.replace(**changes)``; its database is disposed on exit, unless ``database``
  shares one opened by the caller (the ``database`` fixture).
- ``app_for(runtime, *, worker=False) -> FastAPI``: ``create_app`` over the runtime's own
  settings and objects; ``worker`` starts the in-process worker in the app's lifespan.
- ``app_client(runtime, *, worker=False, **options) -> Iterator[TestClient]``: that app
  behind a TestClient (lifespan run); ``options`` go to TestClient (``base_url=``,
  ``headers=``).
- ``live_server(runtime, *, worker=False) -> Iterator[str]``: that app on a loopback port
  (tests/support/live_server.py); yields its base URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from billport.runtime import Runtime, open_runtime
from billport.server.app import create_app
from billport.settings import Settings
from billport.store.db import Database
from tests.support.live_server import serve_in_thread


@contextmanager
def opened(
    settings: Settings, database: Database | None = None, **changes: Any
) -> Iterator[Runtime]:
    """A Runtime over ``settings`` with ``changes``; a database it opened is disposed on exit."""
    runtime = open_runtime(settings.replace(**changes) if changes else settings, database)
    try:
        yield runtime
    finally:
        if database is None:  # a shared database belongs to whoever opened it
            runtime.db.dispose()


def app_for(runtime: Runtime, *, worker: bool = False) -> FastAPI:
    """The app over ``runtime`` (its settings too); ``worker`` runs the in-process worker."""
    return create_app(runtime.settings, runtime=runtime, run_worker=worker)


@contextmanager
def app_client(runtime: Runtime, *, worker: bool = False, **options: Any) -> Iterator[TestClient]:
    """``app_for(runtime)`` behind a TestClient whose lifespan runs; ``options`` for TestClient."""
    with TestClient(app_for(runtime, worker=worker), **options) as client:
        yield client


@contextmanager
def live_server(runtime: Runtime, *, worker: bool = False) -> Iterator[str]:
    """``app_for(runtime)`` on a free loopback port, for clients that need a socket."""
    app = app_for(runtime, worker=worker)
    with serve_in_thread(app, keep_alive=runtime.settings.keep_alive_seconds) as base:
        yield base
