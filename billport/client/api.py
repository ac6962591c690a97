"""What the Partner Center and Graph clients share: authorised, traced, checked calls."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx

from billport.client.credentials import Credential
from billport.client.errors import ClientError, check
from billport.client.http import HttpClient, origin


class ApiClient:
    """Calls to one API with a bearer token for ``scope``; error answers raise.

    Each request carries a fresh ``client-request-id`` (Graph) / ``MS-RequestId`` (Partner
    Center) so the service's logs can be matched to ours. A 401 renews the token once: a
    cached token may have been revoked or have outlived the clock skew.

    The bearer token goes only to the origin of ``base_url``: a ``Location`` or link the
    service answers that points elsewhere is refused before anything is sent to it, since
    whoever controls such a URL (or a reflected ``Host``) would otherwise get the token.
    """

    def __init__(self, base_url: str, credential: Credential, scope: str, http: HttpClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.scope = scope
        self.http = http

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def headers(self) -> dict[str, str]:
        rid = str(uuid.uuid4())
        return {
            "Authorization": f"Bearer {self.credential.token(self.scope)}",
            "Accept": "application/json",
            "client-request-id": rid,
            "MS-RequestId": rid,
        }

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        url = self.url(path_or_url)
        if origin(url) != origin(self.base_url):
            raise ClientError(
                f"refusing to send the bearer token to {origin(url)}: the service at "
                f"{origin(self.base_url)} pointed there, and only the configured origin is "
                "trusted (if that server is yours, configure the client with its URL, e.g. "
                "--server)"
            )
        response = self.http.request(
            method, url, headers={**self.headers(), **(headers or {})}, **kwargs
        )
        if response.status_code == 401:
            self.credential.invalidate(self.scope)
            response = self.http.request(
                method, url, headers={**self.headers(), **(headers or {})}, **kwargs
            )
        return check(response)


def decimal_json(response: httpx.Response) -> Any:
    """The body as JSON with numbers as Decimal: amounts like ``24606.35`` stay exact."""
    return json.loads(response.content, parse_float=Decimal)
