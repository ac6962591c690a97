"""Partner Center invoices: list (following ``links.next`` and its headers), get one, and
stream an invoice's line items (continuation tokens or offsets)."""

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


PATH_PROVIDERS = {"office": "Office", "azure": "Azure", "onetime": "OneTime",
                  "marketplace": "Marketplace"}  # fmt: skip
PATH_TYPES = {"billinglineitems": "BillingLineItems", "usagelineitems": "UsageLineItems"}


def line_item_spelling(provider: str, line_item_type: str) -> tuple[str, str]:
    """``("onetime", "usagelineitems")`` -> ``("OneTime", "UsageLineItems")`` (any casing)."""
    chosen = PATH_PROVIDERS.get(provider.strip().lower())
    kind = PATH_TYPES.get(line_item_type.strip().lower())
    if chosen is None or kind is None:
        raise ValueError(
            f"unknown line items {provider!r}/{line_item_type!r}: provider is one of "
            f"{', '.join(PATH_PROVIDERS)}; type billinglineitems or usagelineitems"
        )
    return chosen, kind


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
        yielded: set[str] = set()
        for page, body in enumerate(self._pages(self.url("/v1/invoices"), first or None), 1):
            for item in body.get("items") or []:
                invoice_id = item.get("id") if isinstance(item, Mapping) else None
                if invoice_id is not None:
                    if invoice_id in yielded:
                        continue
                    yielded.add(invoice_id)
                yield item
            if pages is not None and page >= pages:
                return

    def line_items(
        self,
        invoice_id: str,
        provider: str = "onetime",
        line_item_type: str = "billinglineitems",
        *,
        currency: str | None = None,
        period: str | None = None,
        size: int | None = None,
        path_form: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """An invoice's line items (``invoice_id="unbilled"``: the open period's), streamed.

        The query form (default) pages by continuation token: each ``links.next`` is followed
        with its ``MS-ContinuationToken`` header. ``path_form`` asks
        ``/lineitems/{Provider}/{Type}?size&offset`` instead (legacy Office/Azure invoices,
        the links of ``invoiceDetails``), whose ``links.next`` pages by offset. Amounts are
        ``Decimal``. ``size`` is the page size (the service caps it at 2000).
        """
        spelling = line_item_spelling(provider, line_item_type)
        root = f"/v1/invoices/{quote(invoice_id, safe='')}/lineitems"
        params: dict[str, Any] = {}
        if path_form:
            url = self.url(f"{root}/{spelling[0]}/{spelling[1]}")
            params.update(size=size or 2000, offset=0)
        else:
            url = self.url(root)
            params.update(provider=spelling[0].lower(), invoicelineitemtype=spelling[1].lower())
            for key, value in (("currencycode", currency), ("period", period), ("size", size)):
                if value is not None:
                    params[key] = value
        for body in self._pages(url, params):
            yield from body.get("items") or []

    def _pages(self, url: str, params: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Pages from ``url`` on, following ``links.next`` (uri and headers) to the end."""
        headers: dict[str, str] = {}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = decimal_json(
                self.send("GET", url, params=params, headers=headers)
            )
            yield body
            following = (body.get("links") or {}).get("next")
            if not following or not following.get("uri"):
                return
            # None, not {}: httpx replaces a URL's query with an empty params dict.
            url, headers, params = self.link_url(following["uri"]), link_headers(following), None
            key = f"{url}|{sorted(headers.items())}"
            if key in seen:
                raise ClientError(f"the service links page {urlsplit(url).query!r} twice")
            seen.add(key)
        raise ClientError(f"more than {MAX_PAGES} pages")

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """One invoice by id, with its amendments."""
        body: dict[str, Any] = decimal_json(
            self.send("GET", f"/v1/invoices/{quote(invoice_id, safe='')}")
        )
        return body
