"""Partner Center invoices: list (following ``links.next`` and its headers) and get one."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

from billport.client.api import ApiClient, decimal_json
from billport.client.credentials import PARTNER_CENTER_SCOPE, Credential
from billport.client.errors import ClientError
from billport.client.http import HttpClient

MICROSOFT_PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
MAX_PAGES = 100_000  # a server that links pages in a loop must not keep us forever


def date_filter(start: date | None = None, end: date | None = None) -> dict[str, Any] | None:
    """The ``InvoiceDate`` filter for ``start <= invoiceDate <= end`` (whole UTC days)."""
    terms = []
    if start is not None:
        terms.append(
            {
                "Field": "InvoiceDate",
                "Value": start.isoformat(),
                "Operator": "greater_than_or_equals",
            }
        )
    if end is not None:
        terms.append(
            {"Field": "InvoiceDate", "Value": end.isoformat(), "Operator": "less_than_or_equals"}
        )
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    return {"LeftFilter": terms[0], "RightFilter": terms[1], "Operator": "and"}


def link_headers(link: Mapping[str, Any]) -> dict[str, str]:
    """A link's ``headers`` (``[{"key", "value"}]``, e.g. a continuation token) as a dict."""
    out: dict[str, str] = {}
    for item in link.get("headers") or []:
        if isinstance(item, Mapping) and item.get("key"):
            out[str(item["key"])] = str(item.get("value", ""))
    return out


class PartnerCenterClient(ApiClient):
    """``base_url`` is the API root without ``/v1`` (``https://api.partnercenter.microsoft.com``)."""

    def __init__(
        self,
        credential: Credential,
        http: HttpClient,
        base_url: str = MICROSOFT_PARTNER_CENTER,
    ) -> None:
        super().__init__(base_url, credential, PARTNER_CENTER_SCOPE, http)

    def link_url(self, uri: str) -> str:
        """Links are relative and usually lack ``/v1`` (``/invoices?size=2&offset=2``)."""
        if uri.startswith(("http://", "https://")):
            return uri
        path = uri if uri.startswith("/") else f"/{uri}"
        if not path.startswith("/v1/"):
            path = f"/v1{path}"
        return self.url(path)

    def invoices(
        self,
        *,
        filter: Mapping[str, Any] | str | None = None,
        size: int | None = None,
        pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The invoices the filter selects, page after page as the service links them.

        Each invoice comes once, in the order first seen: the service pages only legacy
        invoices with ``size``/``offset`` and returns every matching modern invoice on every
        page, so an id already yielded is skipped. ``pages`` stops after that many pages
        (None: follow ``links.next`` to the end).
        """
        first: dict[str, Any] = {}
        if size is not None:
            first.update(size=size, offset=0)
        if filter is not None:
            first["filter"] = filter if isinstance(filter, str) else json.dumps(filter)
        params: dict[str, Any] | None = first or None
        url, headers = self.url("/v1/invoices"), dict[str, str]()
        seen: set[str] = set()
        yielded: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            body = decimal_json(self.send("GET", url, params=params, headers=headers))
            for item in body.get("items") or []:
                invoice_id = item.get("id") if isinstance(item, Mapping) else None
                if invoice_id is not None:
                    if invoice_id in yielded:
                        continue
                    yielded.add(invoice_id)
                yield item
            if pages is not None and page >= pages:
                return
            following = (body.get("links") or {}).get("next")
            if not following or not following.get("uri"):
                return
            # None, not {}: httpx replaces a URL's query with an empty params dict.
            url, headers, params = self.link_url(following["uri"]), link_headers(following), None
            key = f"{url}|{sorted(headers.items())}"
            if key in seen:
                raise ClientError(f"the service links page {urlsplit(url).query!r} twice")
            seen.add(key)
        raise ClientError(f"more than {MAX_PAGES} pages of invoices")

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """One invoice by id, with its amendments."""
        body: dict[str, Any] = decimal_json(
            self.send("GET", f"/v1/invoices/{quote(invoice_id, safe='')}")
        )
        return body
