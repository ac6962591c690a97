"""The FOCUS views: reconciliation (``focus``) and daily-rated usage (``focus_usage``) rows in
FOCUS 1.2 columns, with the 1.3 additions, and ``x_`` columns for what only CSP has.

Two views, not one: the new-commerce reconciliation file already holds Azure plan usage
(aggregated), so adding the daily-rated usage rows to it would count Azure twice. ``focus``
sums to the invoices; ``focus_usage`` is the same money by day, meter and resource. The
mapping table is in docs/sync.md; :data:`COLUMNS` is the one source of both views.
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "DECIMAL(38, 12)"
BILLING_START = "make_timestamptz(billing_month // 100, billing_month % 100, 1, 0, 0, 0, 'UTC')"
NULL_TEXT = "CAST(NULL AS VARCHAR)"
NULL_MONEY = f"CAST(NULL AS {MONEY})"
NEXT_DAY = "INTERVAL 1 DAY"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the DuckDB type of the view's column
    recon: str  # SQL over a reconciliation row
    usage: str  # SQL over a daily-rated usage row
    version: str = "1.2"  # FOCUS version that has it; "x" for an x_ column


def _charge_category() -> str:
    return (
        "CASE WHEN lower(ChargeType) IN ('new', 'renew', 'cycle charge', 'add quantity', "
        "'addquantity', 'convert', 'purchase') THEN 'Purchase' "
        "WHEN lower(ChargeType) IN ('cancel', 'remove quantity', 'removequantity', "
        "'customercredit', 'refund', 'credit') THEN 'Credit' "
        "WHEN lower(ChargeType) = 'usage' THEN 'Usage' ELSE 'Adjustment' END"
    )


def _frequency() -> str:
    return (
        "CASE WHEN lower(BillingFrequency) IN ('onetime', 'one time', 'one-time') "
        "THEN 'One-Time' WHEN lower(ChargeType) = 'usage' THEN 'Usage-Based' "
        "ELSE 'Recurring' END"
    )


def _m(expr: str) -> str:
    """``expr`` as an exact amount of the view."""
    return f"CAST({expr} AS {MONEY})"


def _times(left: str, right: str) -> str:
    return _m(f"{left} * {right}")


LIST_UNIT = _times("UnitPrice", "coalesce(PCToBCExchangeRate, 1)")
COLUMNS: tuple[Column, ...] = (
    Column("AvailabilityZone", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("BilledCost", MONEY, _m("Subtotal"), _m("BillingPreTaxTotal")),
    Column("BillingAccountId", "VARCHAR", "PartnerId", "PartnerId"),
    Column("BillingAccountName", "VARCHAR", NULL_TEXT, "PartnerName"),
    Column("BillingAccountType", "VARCHAR", "'CSP Partner'", "'CSP Partner'"),
    Column("BillingCurrency", "VARCHAR", "Currency", "BillingCurrency"),
    Column("BillingPeriodEnd", "TIMESTAMPTZ", f"{BILLING_START} + INTERVAL 1 MONTH",
           f"{BILLING_START} + INTERVAL 1 MONTH"),
    Column("BillingPeriodStart", "TIMESTAMPTZ", BILLING_START, BILLING_START),
    Column("CapacityReservationId", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("CapacityReservationStatus", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("ChargeCategory", "VARCHAR", _charge_category(), "'Usage'"),
    Column("ChargeClass", "VARCHAR",
           "CASE WHEN coalesce(CreditReasonCode, '') <> '' THEN 'Correction' END", NULL_TEXT),
    Column("ChargeDescription", "VARCHAR", "SkuName", "coalesce(MeterName, SkuName)"),
    Column("ChargeFrequency", "VARCHAR", _frequency(), "'Usage-Based'"),
    Column("ChargePeriodEnd", "TIMESTAMPTZ", f"ChargeEndDate + {NEXT_DAY}",
           f"UsageDate + {NEXT_DAY}"),
    Column("ChargePeriodStart", "TIMESTAMPTZ", "ChargeStartDate", "UsageDate"),
    Column("CommitmentDiscountCategory", "VARCHAR",
           "CASE WHEN coalesce(ReservationOrderId, '') <> '' THEN 'Usage' END",
           "CASE WHEN coalesce(BenefitOrderID, '') <> '' THEN 'Usage' END"),
    Column("CommitmentDiscountId", "VARCHAR", "nullif(ReservationOrderId, '')",
           "nullif(coalesce(nullif(BenefitID, ''), BenefitOrderID), '')"),
    Column("CommitmentDiscountName", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("CommitmentDiscountQuantity", MONEY, NULL_MONEY, NULL_MONEY),
    Column("CommitmentDiscountStatus", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("CommitmentDiscountType", "VARCHAR",
           "CASE WHEN coalesce(ReservationOrderId, '') <> '' THEN 'Reservation' END",
           "nullif(BenefitType, '')"),
    Column("CommitmentDiscountUnit", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("ConsumedQuantity", MONEY, _m("BillableQuantity"), _m("Quantity")),
    Column("ConsumedUnit", "VARCHAR", "UnitType", "Unit"),
    Column("ContractedCost", MONEY, _times(LIST_UNIT, "BillableQuantity"),
           _times(LIST_UNIT, "Quantity")),
    Column("ContractedUnitPrice", MONEY, LIST_UNIT, LIST_UNIT),
    Column("EffectiveCost", MONEY, _m("Subtotal"), _m("BillingPreTaxTotal")),
    Column("InvoiceId", "VARCHAR", "nullif(InvoiceNumber, '')", "nullif(InvoiceNumber, '')"),
    Column("InvoiceIssuerName", "VARCHAR", "'Microsoft'", "'Microsoft'"),
    Column("ListCost", MONEY, _times(LIST_UNIT, "BillableQuantity"),
           _times(LIST_UNIT, "Quantity")),
    Column("ListUnitPrice", MONEY, LIST_UNIT, LIST_UNIT),
    Column("PricingCategory", "VARCHAR",
           "CASE WHEN coalesce(ReservationOrderId, '') <> '' THEN 'Committed' ELSE 'Standard' END",
           "CASE WHEN coalesce(BenefitOrderID, '') <> '' THEN 'Committed' ELSE 'Standard' END"),
    Column("PricingCurrency", "VARCHAR", "PricingCurrency", "PricingCurrency"),
    Column("PricingCurrencyContractedUnitPrice", MONEY, _m("UnitPrice"),
           _m("UnitPrice")),
    Column("PricingCurrencyEffectiveCost", MONEY,
           _times("EffectiveUnitPrice", "BillableQuantity"), _m("PricingPreTaxTotal")),
    Column("PricingCurrencyListUnitPrice", MONEY, _m("UnitPrice"),
           _m("UnitPrice")),
    Column("PricingQuantity", MONEY, _m("BillableQuantity"), _m("Quantity")),
    Column("PricingUnit", "VARCHAR", "UnitType", "Unit"),
    Column("ProviderName", "VARCHAR", "'Microsoft'", "'Microsoft'"),
    Column("PublisherName", "VARCHAR", "PublisherName", "PublisherName"),
    Column("RegionId", "VARCHAR", NULL_TEXT, "nullif(ResourceLocation, '')"),
    Column("RegionName", "VARCHAR", NULL_TEXT, "nullif(MeterRegion, '')"),
    Column("ResourceId", "VARCHAR", NULL_TEXT, "nullif(ResourceURI, '')"),
    Column("ResourceName", "VARCHAR", NULL_TEXT,
           "nullif(regexp_extract(ResourceURI, '[^/]+$'), '')"),
    Column("ResourceType", "VARCHAR", NULL_TEXT, "nullif(ConsumedService, '')"),
    Column("ServiceCategory", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("ServiceName", "VARCHAR", "ProductName",
           "coalesce(nullif(MeterCategory, ''), ProductName)"),
    Column("ServiceSubcategory", "VARCHAR", NULL_TEXT, "nullif(MeterSubCategory, '')"),
    Column("SkuId", "VARCHAR", "ProductId || ':' || SkuId", "ProductId || ':' || SkuId"),
    Column("SkuMeter", "VARCHAR", "nullif(MeterDescription, '')", "nullif(MeterName, '')"),
    Column("SkuPriceDetails", "VARCHAR", NULL_TEXT, NULL_TEXT),
    Column("SkuPriceId", "VARCHAR", "AvailabilityId", "AvailabilityId"),
    Column("SubAccountId", "VARCHAR", "SubscriptionId", "EntitlementId"),
    Column("SubAccountName", "VARCHAR", "SubscriptionDescription", "EntitlementDescription"),
    Column("SubAccountType", "VARCHAR", "'Subscription'", "'Azure Subscription'"),
    Column("Tags", "VARCHAR", NULL_TEXT, "nullif(Tags, '')"),
    # FOCUS 1.3
    Column("ContractApplied", "VARCHAR", NULL_TEXT, NULL_TEXT, "1.3"),
    Column("HostProviderName", "VARCHAR", "'Microsoft'", "'Microsoft'", "1.3"),
    Column("ServiceProviderName", "VARCHAR", "'Microsoft'", "'Microsoft'", "1.3"),
    # CSP fields, named as Microsoft's own FOCUS export names them where it has them
    Column("x_BillingExchangeRate", MONEY, _m("PCToBCExchangeRate"),
           _m("PCToBCExchangeRate"), "x"),
    Column("x_BillingExchangeRateDate", "TIMESTAMPTZ", "PCToBCExchangeRateDate",
           "CAST(NULL AS TIMESTAMPTZ)", "x"),
    Column("x_ChargeType", "VARCHAR", "ChargeType", "ChargeType", "x"),
    Column("x_CustomerId", "VARCHAR", "CustomerId", "CustomerId", "x"),
    Column("x_CustomerName", "VARCHAR", "CustomerName", "CustomerName", "x"),
    Column("x_EffectiveUnitPrice", MONEY, _m("EffectiveUnitPrice"),
           _m("EffectiveUnitPrice"), "x"),
    Column("x_InvoiceIssuerId", "VARCHAR", "PartnerId", "PartnerId", "x"),
    Column("x_OrderId", "VARCHAR", "OrderId", NULL_TEXT, "x"),
    Column("x_PartnerCreditApplied", "BOOLEAN",
           "contains(lower(coalesce(PriceAdjustmentDescription, '')), 'partner earned credit')",
           "coalesce(PartnerEarnedCreditPercentage, 0) > 0", "x"),
    Column("x_PartnerCreditRate", MONEY, NULL_MONEY,
           _m("PartnerEarnedCreditPercentage / 100"), "x"),
    Column("x_ResellerId", "VARCHAR", "nullif(Tier2MpnId, '')", "nullif(Tier2MpnId, '')", "x"),
    Column("x_SkuMeterId", "VARCHAR", NULL_TEXT, "nullif(MeterId, '')", "x"),
    Column("x_SourceDataset", "VARCHAR", "x_source", "x_source", "x"),
    Column("x_TaxTotal", MONEY, _m("TaxTotal"), NULL_MONEY, "x"),
)  # fmt: skip


def _select(kind: str, sources: list[str]) -> str:
    cells = ", ".join(f"CAST({getattr(c, kind)} AS {c.type}) AS {c.name}" for c in COLUMNS)
    union = " UNION ALL BY NAME ".join(f"SELECT *, '{s}' AS x_source FROM {s}" for s in sources)
    return f"SELECT {cells} FROM ({union})"


def focus_views(views: set[str]) -> list[str]:
    """``CREATE VIEW`` statements for the FOCUS views whose source views exist."""
    statements = []
    for name, kind, sources in (
        ("focus", "recon", ["billed_reconciliation", "unbilled_reconciliation"]),
        ("focus_usage", "usage", ["billed_usage", "unbilled_usage"]),
    ):
        present = [s for s in sources if s in views]
        if present:
            statements.append(f"CREATE VIEW {name} AS {_select(kind, present)}")
    return statements


NOTES = {
    "ChargeCategory": "recon: `ChargeType` New, Renew, Cycle charge, Add quantity, Convert → "
    "Purchase; Cancel, Remove quantity, customerCredit, Refund → Credit; usage → Usage; "
    "anything else → Adjustment",
    "ChargeClass": "Correction when `CreditReasonCode` is set",
    "ChargeFrequency": "recon: `BillingFrequency` OneTime → One-Time, usage → Usage-Based, "
    "else Recurring",
    "CommitmentDiscountCategory": "Usage when a reservation/benefit order is named",
    "CommitmentDiscountType": "recon: Reservation when `ReservationOrderId` is set",
    "PricingCategory": "Committed with a reservation/benefit order, else Standard",
    "ContractedCost": "no negotiated price in CSP files: the list price",
    "ContractedUnitPrice": "no negotiated price in CSP files: the list price",
    "BillingPeriodStart": "the partition's `billing_month`, 1st 00:00 UTC",
    "BillingPeriodEnd": "exclusive: the next month's 1st",
    "ChargePeriodEnd": "exclusive: the day after",
    "x_PartnerCreditApplied": "recon: `PriceAdjustmentDescription` mentions partner earned "
    "credit; usage: `PartnerEarnedCreditPercentage` > 0",
    "x_SourceDataset": "the view the row came from",
}


def _uncast(expr: str) -> str:
    """``CAST(x AS T)`` -> ``x``, nested casts too."""
    start = expr.find("CAST(")
    if start < 0:
        return expr
    depth, end = 0, start + 4
    for end in range(start + 4, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[end], 0)
        if depth == 0:
            break
    inner = expr[start + 5 : end]
    cut = inner.rfind(" AS ")
    return expr[:start] + _uncast(inner[:cut]) + _uncast(expr[end + 1 :])


def _shown(expr: str) -> str:
    """An expression as the docs show it: without casts, the billing period in words."""
    if expr in (NULL_TEXT, NULL_MONEY, "CAST(NULL AS TIMESTAMPTZ)"):
        return "—"
    if expr.startswith("CASE") or BILLING_START in expr:
        return "(see note)"
    text = _uncast(expr).replace("|", "\\|")  # a pipe would end the table cell
    return f"`{text}`"


def mapping_table() -> str:
    """The mapping as a Markdown table: docs/sync.md holds exactly this (a test checks)."""
    lines = [
        "| FOCUS column | version | type | `focus` (reconciliation) | "
        "`focus_usage` (daily-rated usage) | note |",
        "|---|---|---|---|---|---|",
    ]
    for c in COLUMNS:
        version = "CSP" if c.version == "x" else c.version
        cells = (c.name, version, c.type, _shown(c.recon), _shown(c.usage), NOTES.get(c.name, ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
