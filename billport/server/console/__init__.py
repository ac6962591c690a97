"""The web console at ``/_billport/console``: server-rendered pages for the operator.

Signed in with the admin token (``auth.py``, ``session.py``), forms CSRF-checked
(``csrf.py``), every asset in the package. :func:`install_console` mounts it on the app.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from billport.server.console import pages, resellers_page, scenario_page, signin
from billport.server.console.auth import (
    ConsoleLocked,
    ConsoleRefusal,
    CrossSiteRefused,
    PartnerTokenRefused,
    SignInRequired,
)
from billport.server.console.render import PREFIX, SECURITY_HEADERS, render

__all__ = ["PREFIX", "install_console"]


def install_console(app: FastAPI) -> None:
    for module in (signin, pages, scenario_page, resellers_page):
        app.include_router(module.router)

    @app.exception_handler(ConsoleRefusal)
    async def _refused(request: Request, exc: Exception) -> Response:
        return refusal_response(request, exc)


def refusal_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        if exc.fragment:
            return PlainTextResponse("Sign in to the console first.", 401, SECURITY_HEADERS)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"{PREFIX}/login?next={quote(target, safe='/')}"
        return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)
    status = 503 if isinstance(exc, ConsoleLocked) else 403
    assert isinstance(exc, PartnerTokenRefused | CrossSiteRefused | ConsoleLocked)
    return render(request, "refused.html", session=None, page="", message=str(exc), status=status)
