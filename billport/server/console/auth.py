"""Who may use the console: a signed-in session (cookie), checked on every route.

Pages without a session redirect to the sign-in form; fragments (what the pages fetch)
answer 401. A request that carries a partner's bearer token is refused with 403, and the
admin token never travels as a bearer token here either: the console knows only its
session cookie. Every POST passes :func:`checked_form` (CSRF token and origin).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from billport.runtime import Runtime
from billport.server.console.csrf import cross_site_problem, origin_of
from billport.server.console.session import SESSION_COOKIE, Session, SessionSigner
from billport.server.urls import base_url


class ConsoleRefusal(Exception):
    """Base of the console's refusals; ``install_console`` renders each."""


class SignInRequired(ConsoleRefusal):
    def __init__(self, fragment: bool) -> None:
        super().__init__("sign in first")
        self.fragment = fragment


class PartnerTokenRefused(ConsoleRefusal):
    pass


class ConsoleLocked(ConsoleRefusal):
    """No admin token is configured: nobody can sign in."""


class CrossSiteRefused(ConsoleRefusal):
    pass


def signer_of(request: Request) -> SessionSigner | None:
    """The session signer of the runtime's admin token (``None``: no token, console locked)."""
    runtime: Runtime = request.app.state.runtime
    token = runtime.keys.admin_token
    if not token:
        return None
    cached: tuple[str, SessionSigner] | None = getattr(request.app.state, "console_signer", None)
    if cached is None or cached[0] != token:
        cached = (token, SessionSigner(token))
        request.app.state.console_signer = cached
    return cached[1]


def refuse_bearer(request: Request) -> None:
    """A partner's bearer token (a JWT) is refused outright; the console uses no bearer."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip().count(".") == 2:
        raise PartnerTokenRefused(
            "Partner access tokens cannot use the console: sign in with the admin token."
        )


def _session(request: Request, *, fragment: bool) -> Session:
    refuse_bearer(request)
    signer = signer_of(request)
    if signer is None:
        raise ConsoleLocked("No admin token is configured: the console is locked.")
    session = signer.verify(request.cookies.get(SESSION_COOKIE), time.time())
    if session is None:
        raise SignInRequired(fragment)
    return session


def page_session(request: Request) -> Session:
    """Dependency of pages: the session, or a redirect to sign in."""
    return _session(request, fragment=False)


def fragment_session(request: Request) -> Session:
    """Dependency of fragments (fetched by scripts): the session, or 401."""
    return _session(request, fragment=True)


PageSession = Annotated[Session, Depends(page_session)]
FragmentSession = Annotated[Session, Depends(fragment_session)]


def own_origin(request: Request) -> str:
    runtime: Runtime = request.app.state.runtime
    return origin_of(base_url(request, runtime.settings))


async def checked_form(request: Request, session: Session) -> FormData:
    """The POSTed form, once its CSRF token and the browser's origin headers pass."""
    problem = cross_site_problem(request.headers, own_origin(request))
    if problem is not None:
        raise CrossSiteRefused(f"Refused a cross-site form: {problem}.")
    form = await request.form()
    signer = signer_of(request)
    token = form.get("csrf")
    if signer is None or not signer.csrf_ok(session, token if isinstance(token, str) else None):
        raise CrossSiteRefused("Refused a form without this session's CSRF token.")
    return form
