"""What route handlers and middleware get from the app: its runtime and its request log."""

from __future__ import annotations

import threading

from fastapi import FastAPI, Request

from billport.runtime import Runtime
from billport.usecases.request_log import RequestRecorder

_RECORDER_LOCK = threading.Lock()


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the runtime opened in the app lifespan (async: a sync dependency
    would cost every request a trip through the thread pool)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def recorder_of(app: FastAPI) -> RequestRecorder:
    """The app's request-log recorder: opened in the lifespan, or here on first use (an app
    whose runtime a test set without running the lifespan)."""
    recorder: RequestRecorder | None = getattr(app.state, "request_log", None)
    if recorder is not None:
        return recorder
    with _RECORDER_LOCK:
        recorder = getattr(app.state, "request_log", None)
        if recorder is None:
            runtime: Runtime = app.state.runtime
            recorder = RequestRecorder(runtime.db, keep=runtime.settings.request_log_size)
            recorder.start()
            app.state.request_log = recorder
        return recorder
