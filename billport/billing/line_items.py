"""Partner Center v1 invoice line items: which listing a request names, and its row shape.

Pure domain. A v1 line item is the same stored row a Graph export serves (the billed or
unbilled reconciliation or usage document), renamed into the v1 models of spec §4.3
(``OneTimeInvoiceLineItem``, ``DailyRatedUsageLineItem``): lower camelCase keys, the v1
names where the Aug 2023 renames differ (``totalForCustomer``, ``resellerMpnId``,
``unitOfMeasure``, fraction-valued ``rateOfPartnerEarnedCredit``/``rateOfCredit``), JSON
text fields as the JSON they hold, plus ``invoiceLineItemType``, ``billingProvider`` and
``attributes.objectType``. :func:`graph_row` is the inverse, so both APIs reconcile.
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billport.billing.datasets import Dataset
from billport.billing.invoices import Invoice
from billport.errors import InvalidRequest

MAX_LINE_ITEMS_PAGE = 2000  # documented default and maximum (spec §4.1)
UNBILLED = "unbilled"


class Provider(enum.Enum):
    """A billing provider as URLs spell it (case-insensitive); the value is the path form."""

    OFFICE = "Office"
    AZURE = "Azure"
    ONETIME = "OneTime"
    MARKETPLACE = "Marketplace"


class ItemKind(enum.Enum):
    """``invoicelineitemtype``; the value is the path form."""

    BILLING = "BillingLineItems"
    USAGE = "UsageLineItems"


@dataclass(frozen=True)
class Listing:
    """One kind of v1 line-item collection and the store rows behind it."""

    provider: Provider
    kind: ItemKind
    object_type: str
    billing_provider: str  # the JSON value on every item
    billed: Dataset | None  # None: billport stores no rows of this kind (legacy Office/Azure)
    unbilled: Dataset | None

    @property
    def line_item_type(self) -> str:
        return "billing_line_items" if self.kind is ItemKind.BILLING else "usage_line_items"

    def dataset(self, unbilled: bool) -> Dataset | None:
        return self.unbilled if unbilled else self.billed


_RECON, _USAGE = Dataset.BILLED_RECONCILIATION, Dataset.BILLED_USAGE
_ONETIME_BILLING = Listing(
    Provider.ONETIME, ItemKind.BILLING, "OneTimeInvoiceLineItem", "one_time",
    _RECON, Dataset.UNBILLED_RECONCILIATION,
)  # fmt: skip
_RATED_USAGE = Listing(
    Provider.ONETIME, ItemKind.USAGE, "DailyRatedUsageLineItem", "marketplace",
    _USAGE, Dataset.UNBILLED_USAGE,
)  # fmt: skip
# (provider, kind) -> listing; the pairs of the SDKs' InvoiceLineItemConverter (spec §4.3).
LISTINGS: dict[tuple[Provider, ItemKind], Listing] = {
    (Provider.OFFICE, ItemKind.BILLING): Listing(
        Provider.OFFICE, ItemKind.BILLING, "LicenseBasedLineItem", "office", None, None
    ),
    (Provider.AZURE, ItemKind.BILLING): Listing(
        Provider.AZURE, ItemKind.BILLING, "UsageBasedLineItem", "azure", None, None
    ),
    (Provider.AZURE, ItemKind.USAGE): Listing(
        Provider.AZURE, ItemKind.USAGE, "DailyUsageLineItem", "azure", None, None
    ),
    (Provider.ONETIME, ItemKind.BILLING): _ONETIME_BILLING,
    (Provider.ONETIME, ItemKind.USAGE): _RATED_USAGE,
    # "marketplace" is the deprecated name of the same daily-rated usage (spec §4.3).
    (Provider.MARKETPLACE, ItemKind.USAGE): _RATED_USAGE,
}

_PROVIDERS = {p.value.lower(): p for p in Provider}
_KINDS = {k.value.lower(): k for k in ItemKind}


def parse_provider(text: str | None) -> Provider:
    """``onetime``/``OneTime`` etc.; ``one_time`` (the JSON spelling) is refused, as live."""
    provider = _PROVIDERS.get((text or "").strip().lower())
    if provider is None:
        raise InvalidRequest(
            f"The request is invalid: provider '{(text or '')[:40]}' is not one of "
            "office, azure, onetime, marketplace."
        )
    return provider


def parse_kind(text: str | None) -> ItemKind:
    kind = _KINDS.get((text or "").strip().lower())
    if kind is None:
        raise InvalidRequest(
            f"Invoice Line Item type '{(text or '')[:40]}' is not valid: use "
            "billinglineitems or usagelineitems."
        )
    return kind


def listing_for(provider: Provider, kind: ItemKind) -> Listing:
    listing = LISTINGS.get((provider, kind))
    if listing is None:
        raise InvalidRequest(
            f"Invoice Line Item type is not valid: provider {provider.value} has no {kind.value}."
        )
    return listing


def has_listing(invoice: Invoice, listing: Listing) -> bool:
    """Whether the invoice lists this kind of line items among its ``invoiceDetails``."""
    for detail in invoice.details:  # a detail of a kind not listed here names no listing
        provider = _PROVIDERS.get(detail.path_provider.lower())
        kind = _KINDS.get(detail.path_line_item_type.lower())
        if provider and kind and LISTINGS.get((provider, kind)) == listing:
            return True
    return False


# --- the v1 row shape --------------------------------------------------------------------

# Graph field -> v1 key where it is more than a lower-cased first letter.
V1_NAMES = {
    "Total": "totalForCustomer",
    "Tier2MpnId": "resellerMpnId",
    "Unit": "unitOfMeasure",
    "ResourceURI": "resourceUri",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
    "PartnerEarnedCreditPercentage": "rateOfPartnerEarnedCredit",
    "CreditPercentage": "rateOfCredit",
    "BenefitOrderID": "benefitOrderId",
    "BenefitID": "benefitId",
}
GRAPH_NAMES = {v1: graph for graph, v1 in V1_NAMES.items()}
# v1 carries these as fractions (0.15) where the Graph field is a percentage (15).
RATES = frozenset({"PartnerEarnedCreditPercentage", "CreditPercentage"})
# Graph JSON text that the v1 models hold as JSON: objects (Tags) and arrays (qualifiers).
JSON_TEXT = {"Tags": dict, "AdditionalInfo": dict, "ProductQualifiers": list}

DECODER = json.JSONDecoder(parse_float=Decimal)


def v1_key(graph_name: str) -> str:
    return V1_NAMES.get(graph_name) or graph_name[:1].lower() + graph_name[1:]


def _as_json(text: Any, kind: type) -> Any:
    """``'{"env":"prod"}'`` -> the object; anything else (``""``) stays as it is."""
    if not isinstance(text, str) or not text.startswith(("{", "[")):
        return text
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError:
        return text
    return value if isinstance(value, kind) else text


def v1_item(document: bytes, listing: Listing) -> dict[str, Any]:
    """One stored Graph document as a v1 line item (decimals stay ``Decimal``)."""
    values = DECODER.decode(document.decode("utf-8"))
    item = dict(zip(_v1_keys(tuple(values)), values.values(), strict=True))
    for name in RATES & values.keys():  # few documents have these: transform after renaming
        if isinstance(values[name], Decimal | int):
            item[v1_key(name)] = Decimal(values[name]).scaleb(-2)
    for name in JSON_TEXT.keys() & values.keys():
        item[v1_key(name)] = _as_json(values[name], JSON_TEXT[name])
    item["invoiceLineItemType"] = listing.line_item_type
    item["billingProvider"] = listing.billing_provider
    item["attributes"] = {"objectType": listing.object_type}
    return item


@functools.lru_cache(maxsize=64)  # one entry per document shape (dataset, attribute set)
def _v1_keys(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v1_key(name) for name in names)


_V1_ONLY = frozenset({"invoiceLineItemType", "billingProvider", "attributes"})


def graph_row(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`v1_item`: a v1 line item back as its Graph document's values."""
    row: dict[str, Any] = {}
    for key, value in item.items():
        if key in _V1_ONLY:
            continue
        name = GRAPH_NAMES.get(key) or key[:1].upper() + key[1:]
        if name in RATES and isinstance(value, Decimal | int):
            value = Decimal(value).scaleb(2)
        elif name in JSON_TEXT and isinstance(value, dict | list):
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        row[name] = value
    return row
