"""Signing in and out of the console, and its packaged static files.

``POST /login`` takes the admin token from a form field (never a URL) and answers with
the session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, scoped to the console's
path. The token itself is never stored, logged or echoed.
"""

from __future__ import annotations

import secrets
import time
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billport.runtime import Runtime
from billport.server.console.auth import (
    CrossSiteRefused,
    PageSession,
    checked_form,
    own_origin,
    refuse_bearer,
    signer_of,
)
from billport.server.console.csrf import LOGIN_COOKIE, cross_site_problem, double_submit_ok
from billport.server.console.render import PREFIX, render
from billport.server.console.session import SESSION_COOKIE, SESSION_SECONDS, token_matches

router = APIRouter(prefix=PREFIX, include_in_schema=False)
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}  # fmt: skip
LOGIN_SECONDS = 900


def _next(raw: str | None) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    if raw and raw.startswith(PREFIX) and not raw.startswith("//") and "\\" not in raw:
        return raw
    return PREFIX


def _secure(request: Request) -> bool:
    return own_origin(request).startswith("https://")


def _login_form(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    signer = signer_of(request)
    nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        session=None,
        page="login",
        locked=signer is None,
        login_token=nonce,
        next_path=_next(request.query_params.get("next")),
        error=error,
        status=status if signer is not None else 503,
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=LOGIN_SECONDS, path=PREFIX, httponly=True,
        samesite="strict", secure=_secure(request),
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    refuse_bearer(request)
    signer = signer_of(request)
    if signer is not None and signer.verify(request.cookies.get(SESSION_COOKIE), time.time()):
        return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    refuse_bearer(request)
    problem = cross_site_problem(request.headers, own_origin(request))
    if problem is not None:
        raise CrossSiteRefused(f"Refused a cross-site sign-in: {problem}.")
    form = await request.form()
    submitted = form.get("login_token")
    if not double_submit_ok(
        request.cookies.get(LOGIN_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        return _login_form(request, error="The sign-in form expired: try again.", status=403)
    signer = signer_of(request)
    runtime: Runtime = request.app.state.runtime
    token = form.get("token")
    if signer is None:
        return _login_form(request)
    if not token_matches(token if isinstance(token, str) else "", runtime.keys.admin_token):
        return _login_form(request, error="That is not the admin token.", status=401)
    _, cookie = signer.issue(time.time())
    target = form.get("next")
    response = RedirectResponse(_next(target if isinstance(target, str) else None), 303)
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, path=PREFIX, httponly=True,
        samesite="strict", secure=_secure(request),
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request, session: PageSession) -> Response:
    await checked_form(request, session)
    signer = signer_of(request)
    if signer is not None:
        signer.revoke(session)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The console's own CSS and JavaScript, from the package (works offline)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        return Response("Not found", status_code=404, media_type="text/plain")
    asset = resources.files("billport.server.console").joinpath("static", name)
    if not asset.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(
        asset.read_bytes(),
        media_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
